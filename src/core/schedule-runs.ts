// Next-run prediction (plan, overdue check): what the scheduler in use does, including around a
// daylight-saving change in settings.time_zone. Pure: never reads the clock. Re-exported by schedule.ts.
//
// croner (>= 11: croner 9 skipped early-March days for day-of-month lists holding a day February
// lacks) enumerates wall-clock times; each is then mapped to instants in the zone:
//   bacula  (dird scheduler: each real minute's local time is matched) a time in a spring-forward
//           gap never runs; a time in a fall-back overlap runs twice.
//   cron    (cronie/Vixie cron(8): "If time has moved forward, those jobs that would have run in
//           the interval that has been skipped will be run immediately. Conversely, if time has
//           moved backward, care is taken to avoid running jobs twice"; this applies to jobs at a
//           specific time, i.e. minute and hour not starting with `*`, others are "scheduled
//           normally") a fixed-time job in a gap runs once at the change, in an overlap once (the
//           first); a wildcard job skips gap minutes and runs both overlap occurrences.
//   systemd (OnCalendar= with a zone, checked against systemd 252's `systemd-analyze calendar`)
//           any time in a gap never runs; a time in an overlap runs once, at its first
//           occurrence (fixed and wildcard alike).
import { Cron } from 'croner';
import type { Schedule, SchedulerKind } from './model.js';
import { memo, parseCron } from './schedule.js';
import { wallOf, wallToInstants } from './schedule-zone.js';

const HOUR = 3_600_000;

/** ISO-8601 week number (1-53) of a calendar date. */
export function isoWeek(y: number, m: number, day: number): number {
  const t = new Date(Date.UTC(y, m - 1, day));
  const dow = (t.getUTCDay() + 6) % 7; // Monday = 0
  t.setUTCDate(t.getUTCDate() - dow + 3); // Thursday of this week decides the year
  const firstThursday = new Date(Date.UTC(t.getUTCFullYear(), 0, 4));
  const ftDow = (firstThursday.getUTCDay() + 6) % 7;
  firstThursday.setUTCDate(firstThursday.getUTCDate() - ftDow + 3);
  return 1 + Math.round((t.getTime() - firstThursday.getTime()) / (7 * 86_400_000));
}

/** Whether a wall time (floating: read as UTC) passes the schedule's filter. */
export function passesFilter(s: Schedule, wall: Date): boolean {
  if (!s.filter) return true;
  const [y, m, day] = [wall.getUTCFullYear(), wall.getUTCMonth() + 1, wall.getUTCDate()];
  if (s.filter === 'even-iso-week') return isoWeek(y, m, day) % 2 === 0;
  return day <= 7;
}

/** cronie's "specific time" job: neither minute nor hour starts with `*` (entry.c MIN_STAR/HR_STAR). */
export const isFixedTime = (cron: string): boolean => {
  const [min, hour] = cron.trim().split(/\s+/);
  return !min!.startsWith('*') && !hour!.startsWith('*');
};

const runCache = new Map<string, string[]>();

/**
 * The next `count` run times strictly after `fromIso`, as ISO strings (UTC, `…Z`), as
 * `scheduler` runs them in `timeZone` (default bacula). `fromIso` should carry an offset or `Z`.
 * Throws RangeError on an invalid `fromIso` or a cron expression croner rejects (a Schedule from
 * normalizeSchedule never is).
 */
export function nextRuns(s: Schedule, fromIso: string, count: number, timeZone: string, scheduler: SchedulerKind = 'bacula'): string[] {
  const from = new Date(fromIso);
  if (Number.isNaN(from.getTime())) throw new RangeError(`nextRuns: invalid date "${fromIso}"`);
  const parsed = parseCron(s.cron);
  if ('error' in parsed) throw new RangeError(`nextRuns: schedule "${s.spec}": ${parsed.error}`);
  // A plan asks for the same few schedules once per VM; croner's Cron is the costly part.
  const key = `${parsed.cron}|${s.filter ?? ''}|${fromIso}|${count}|${timeZone}|${scheduler}`;
  return memo(runCache, key, () => computeRuns(s, parsed.cron, from.getTime(), count, timeZone, scheduler)).slice();
}

const cronJobs = new Map<string, Cron>();

/** Wall-clock matches of `cron`, floating (UTC fields = wall fields). */
export const wallJob = (cron: string): Cron =>
  memo(cronJobs, cron, () => new Cron(cron, { utcOffset: 0, paused: true, domAndDow: false, mode: '5-part' }));

/** The instants a wall-clock match becomes under `scheduler` (see the file header). */
export function instantsFor(wall: number, timeZone: string, scheduler: SchedulerKind, fixed: boolean): number[] {
  const { instants, changeAt } = wallToInstants(wall, timeZone);
  if (scheduler === 'systemd') return instants.slice(0, 1);
  if (scheduler === 'bacula' || !fixed) return instants;
  if (instants.length === 0) return changeAt === undefined ? [] : [changeAt];
  return [instants[0]!];
}

function computeRuns(s: Schedule, cron: string, from: number, count: number, timeZone: string, scheduler: SchedulerKind): string[] {
  const job = wallJob(cron);
  const fixed = isFixedTime(cron);
  const found = new Set<number>();
  // Start 3 h of wall time early: a fall-back overlap repeats wall times already passed.
  let cursor = new Date(wallOf(from, timeZone) - 3 * HOUR);
  // A filter keeps at least one run in five (even weeks: 1 in 2-3; first week: 1 in 4-5), so
  // this bound only stops expressions that never match.
  for (let guard = 0; guard < count * 10 + 100; guard++) {
    const next = job.nextRun(cursor);
    if (!next) break;
    cursor = next;
    const wall = next.getTime();
    if (found.size >= count) {
      const last = [...found].sort((a, b) => a - b)[count - 1]!;
      if (wall - 3 * HOUR > wallOf(last, timeZone)) break;
    }
    if (!passesFilter(s, next)) continue;
    for (const t of instantsFor(wall, timeZone, scheduler, fixed)) if (t > from) found.add(t);
  }
  return [...found].sort((a, b) => a - b).slice(0, count).map((t) => new Date(t).toISOString());
}
