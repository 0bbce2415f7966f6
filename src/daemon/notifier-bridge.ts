// The daemon's notifier: every event is logged (journald), and sent through the channels that
// the *applied* revision configures — a broken revision can't silence or redirect its own alert.
import type { Logger } from 'pino';
import type { DesiredState } from '../core/model.js';
import type { FleetSummary, VmStatus } from '../core/status-model.js';
import { createNotifier, type ChannelNotifier } from '../adapters/notify/notifier.js';
import { previousRunFrom, stateStoreDedup } from '../adapters/notify/state.js';
import type { StateStore } from '../adapters/store/state-store.js';
import type { DaemonNotifier } from './cycle.js';

export class NotifierBridge implements DaemonNotifier {
  private current: ChannelNotifier | undefined;
  private key = '';
  constructor(private readonly log: Logger, private readonly store: StateStore, private readonly env: NodeJS.ProcessEnv) {}

  /** Switch to the channels of a newly applied revision (no-op when they did not change). */
  async use(desired: DesiredState, repoDir: string): Promise<void> {
    const key = JSON.stringify([desired.settings.notifications, desired.settings.timeZone]);
    if (key === this.key) return;
    await this.current?.drain(5000);
    this.current = await createNotifier({ notifications: desired.settings.notifications, timeZone: desired.settings.timeZone, log: this.log, repoDir, env: this.env, dedup: stateStoreDedup(this.store), previousRun: previousRunFrom(this.store) });
    this.key = key;
  }

  async notify(e: Parameters<DaemonNotifier['notify']>[0]): Promise<void> {
    this.log[e.kind === 'failure' ? 'error' : 'info']({ event: e.kind, vm: e.run.vm, run: e.run.id, error: e.run.error }, 'notification');
    await this.current?.notify(e);
  }

  async configAlert(revision: string, errors: string[], appliedRevision?: string): Promise<void> {
    this.log.error({ event: 'config-alert', revision, errors }, 'notification');
    await this.current?.configAlert({ revision, reason: errors.some((x) => /not trusted/.test(x)) ? 'untrusted' : 'invalid', errors, ...(appliedRevision ? { appliedRevision } : {}) });
  }

  async recovered(revision: string, failedRevision?: string): Promise<void> {
    this.log.info({ event: 'recovered', revision }, 'notification');
    await this.current?.recovered({ revision, ...(failedRevision ? { failedRevision } : {}) });
  }

  async digest(summary: FleetSummary, statuses: readonly VmStatus[]): Promise<void> {
    this.log.info({ event: 'digest', totals: summary.totals }, 'notification');
    await this.current?.digest(summary, statuses);
  }

  async drain(ms: number): Promise<boolean> {
    return this.current ? this.current.drain(ms) : true;
  }
}
