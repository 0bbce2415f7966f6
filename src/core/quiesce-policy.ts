// What a backup does when a quiesce cannot freeze the guest: fall back to a crash-consistent
// snapshot with a warning (the default), or fail (require_quiesce), and what consistency to record.
import type { Vm } from './model.js';

/** What a restore point really is: guest filesystems frozen (fsfreeze) or not (crash-consistent). */
export type Consistency = 'filesystem' | 'crash';

export type QuiesceFallback = { fail: false; warning: string; consistency: 'crash' } | { fail: true; error: string };

/** `why` says what went wrong ("guest agent did not answer"); the answer is the fallback's `warning`, or the backup's error. */
export function quiesceFallback(vm: Pick<Vm, 'requireQuiesce'>, why: string, warning: string): QuiesceFallback {
  if (vm.requireQuiesce === true) return { fail: true, error: `quiesce impossible (${why}) and require_quiesce is set: the backup fails instead of falling back to a crash-consistent snapshot` };
  return { fail: false, warning, consistency: 'crash' };
}

/** The last word before publishing: a backup of a running VM under require_quiesce must be filesystem-consistent. */
export function consistencyProblem(vm: Pick<Vm, 'requireQuiesce' | 'method'>, running: boolean, consistency: Consistency): string | undefined {
  if (!running || vm.requireQuiesce !== true || vm.method !== 'quiesce' || consistency === 'filesystem') return undefined;
  return `the snapshot is only ${consistency}-consistent; require_quiesce is set, so nothing is published`;
}
