// When a VM's next backup is due and whether it is overdue, from its schedule and its last good
// backup (Flux's interval logic, with the seed-002 schedule words).
import type { SchedulerKind, Vm } from '../model.js';
import { nextRuns } from '../schedule.js';
import type { ObservedPoint } from './types.js';

const HOUR = 3_600_000;

export interface Due { nextDue?: string; overdue: boolean; never: boolean }

/** The newest good point's time, or undefined. */
export function lastGoodTime(points: readonly ObservedPoint[]): string | undefined {
  let best: string | undefined;
  for (const p of points) if (p.status === 'ok' && p.verify !== 'failed' && (!best || p.time > best)) best = p.time;
  return best;
}

/**
 * Overdue when the first scheduled run after the last good backup is more than `graceHours` in
 * the past. A VM with no good backup at all is due at once ("never"), with no `nextDue`. Runs are
 * predicted as `scheduler` (settings.scheduler) runs them across daylight-saving changes.
 */
export function dueState(vm: Vm, points: readonly ObservedPoint[], now: string, timeZone: string, graceHours: number, scheduler: SchedulerKind = 'bacula'): Due {
  const last = lastGoodTime(points);
  // Due at once; no date (a date of `now` would change on every pass and rewrite the status files).
  if (!last) return { overdue: true, never: true };
  const [next] = nextRuns(vm.schedule, last, 1, timeZone, scheduler);
  if (!next) return { overdue: false, never: false };
  const overdue = Date.parse(next) + graceHours * HOUR < Date.parse(now);
  return { nextDue: next, overdue, never: false };
}

const MINUTE = 60_000;

/**
 * A VM whose backups keep failing is retried with exponential backoff (5 min, 10, 20 … capped at
 * 6 h after the failed run started) instead of at every trigger. Interrupted runs (a restart) are
 * retried at once: that is the catch-up; so is a failure under another policy revision (the
 * commit may be the fix). Returns when the next attempt may start, or undefined.
 */
export function retryAfter(last: { time: string; status: string; failedInARow?: number; revision?: string } | undefined, revision?: string): string | undefined {
  if (!last || last.status !== 'failed' || last.revision !== revision) return undefined;
  const n = Math.max(1, last.failedInARow ?? 1);
  const delay = Math.min(5 * MINUTE * 2 ** Math.min(n - 1, 16), 6 * 60 * MINUTE);
  return new Date(Date.parse(last.time) + delay).toISOString();
}
