// What the daemon must remember across restarts (in the lowdb state file): Flux's
// lastAppliedRevision / lastAttemptedRevision with the attempt's errors, VMs that left the repo,
// and which revisions were already alerted on.
import type { StateStore } from '../adapters/store/state-store.js';
import type { RemovedVm } from './observe.js';
import type { ConditionTransition } from '../core/status-build.js';

export interface DaemonState {
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  lastAttemptErrors: string[];
  lastAttemptAt?: string;
  /** The last attempt failed in a way worth retrying (the director could not be reloaded). */
  lastAttemptRetry?: boolean;
  lastReconcileAt?: string;
  alertedRevisions: string[];
  removed: Record<string, RemovedVm>;
  /** VM names of the last applied revision (to notice removals). */
  appliedVms: string[];
  statusPath?: string;
  /** When each VM condition last changed status (`<vm>/<type>`), so unchanged status renders byte-identical. */
  transitions?: Record<string, ConditionTransition>;
}

export const EMPTY_DAEMON_STATE: DaemonState = { lastAttemptErrors: [], alertedRevisions: [], removed: {}, appliedVms: [] };

export function readDaemonState(store: StateStore): DaemonState {
  return { ...EMPTY_DAEMON_STATE, ...(store.data.daemon as Partial<DaemonState> | undefined) };
}

export async function saveDaemonState(store: StateStore, s: DaemonState): Promise<void> {
  await store.update((d) => { d.daemon = { ...s, alertedRevisions: s.alertedRevisions.slice(-50) }; });
}
