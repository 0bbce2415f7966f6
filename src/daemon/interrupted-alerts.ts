// Runs a restart found interrupted are alerted once: held until the notifier has the channels of
// an applied revision (the first reconcile), then sent as failures and forgotten.
import type { RunRecord } from '../core/run-record.js';

export interface FailureNotifier { notify(e: { kind: 'failure'; run: RunRecord }): Promise<void> }

export class InterruptedAlerts {
  private pending: RunRecord[];
  constructor(runs: readonly RunRecord[]) { this.pending = [...runs]; }

  /** Sends what is pending (once); call when a revision is applied, so channels are configured. */
  async flush(n: FailureNotifier): Promise<number> {
    const runs = this.pending;
    this.pending = [];
    for (const run of runs) await n.notify({ kind: 'failure', run });
    return runs.length;
  }
}
