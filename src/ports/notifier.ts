// The Notifier port: how the engine and daemon announce a run's outcome (Slack, e-mail, webhook
// adapters implement it; tests pass an in-memory one).
import type { RunRecord } from '../core/run-record.js';

export interface Notifier {
  /** A run failed, warned, or succeeded (a success after a failure is a recovery). */
  notify(event: { kind: 'failure' | 'warning' | 'success'; run: RunRecord }): Promise<void>;
}
