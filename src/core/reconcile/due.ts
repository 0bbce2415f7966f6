// When a VM's next backup is due and whether it is overdue, from its schedule and its last good
// backup (Flux's interval logic, with the seed-002 schedule words).
import type { Vm } from '../model.js';
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
 * the past. A VM with no good backup at all is due at once ("never").
 */
export function dueState(vm: Vm, points: readonly ObservedPoint[], now: string, timeZone: string, graceHours: number): Due {
  const last = lastGoodTime(points);
  if (!last) return { overdue: true, never: true, nextDue: now };
  const [next] = nextRuns(vm.schedule, last, 1, timeZone);
  if (!next) return { overdue: false, never: false };
  const overdue = Date.parse(next) + graceHours * HOUR < Date.parse(now);
  return { nextDue: next, overdue, never: false };
}
