// `vmbackup schedule due`: does a schedule's filter (even ISO weeks, first week of the month) pass
// for the run a systemd timer just started? Pure: `now` is a parameter.
//
// The run judged is the schedule's latest wall-clock time at or before `now` in the zone, not
// today's date: a Persistent=true catch-up that starts days late is judged by the week it was
// due in.
import type { Schedule } from './model.js';
import { normalizeSchedule } from './schedule.js';
import { passesFilter, wallJob } from './schedule-runs.js';
import { wallOf } from './schedule-zone.js';

const DAY = 86_400_000;

export type DueResult = { due: boolean; run: string | null; schedule: Schedule } | { error: string };

/** The latest wall time (floating ms) of `s` in (nowWall - 35 days, nowWall], if any. */
function latestWall(s: Schedule, nowWall: number): number | undefined {
  const job = wallJob(s.cron);
  let last: number | undefined;
  // Day by day backwards: the first day holding a match at or before now ends the search.
  for (let dayStart = Math.floor(nowWall / DAY) * DAY; dayStart > nowWall - 35 * DAY; dayStart -= DAY) {
    for (let cursor = new Date(dayStart - 1000); ;) {
      const next = job.nextRun(cursor);
      if (!next || next.getTime() > nowWall || next.getTime() >= dayStart + DAY) break;
      last = next.getTime();
      cursor = next;
    }
    if (last !== undefined) return last;
  }
  return undefined;
}

/** Whether the run of `spec` due at or before `now` passes the schedule's filter in `timeZone`. */
export function scheduleDue(spec: string, now: number, timeZone: string): DueResult {
  const r = normalizeSchedule(spec);
  if ('error' in r) return { error: `schedule "${spec}": ${r.error}` };
  const nowWall = wallOf(now, timeZone);
  const wall = latestWall(r.schedule, nowWall);
  if (wall === undefined) return { due: false, run: null, schedule: r.schedule };
  return { due: passesFilter(r.schedule, new Date(wall)), run: new Date(wall).toISOString().slice(0, 16).replace('T', ' '), schedule: r.schedule };
}
