// Which runs of a schedule fall in a daylight-saving gap or overlap of settings.time_zone, and what
// the scheduler in use then does: the text of `validate`'s VMB_SCHEDULE_DST warning. Pure.
import type { Schedule, SchedulerKind } from './model.js';
import { memo } from './schedule.js';
import { isFixedTime, passesFilter, wallJob } from './schedule-runs.js';
import { offsetAt } from './schedule-zone.js';

/** The years checked: the zone's rules as the tz database (Node's ICU) knows them. */
export const DST_CHECK_YEARS = { from: 2026, to: 2045 } as const;

const MINUTE = 60_000;
const DAY = 86_400_000;

interface Transition { at: number; before: number; after: number }

const transitionCache = new Map<string, Transition[]>();

/** The zone's offset changes in DST_CHECK_YEARS (sampled every 2 days, then bisected to the minute). */
export function zoneTransitions(timeZone: string): Transition[] {
  return memo(transitionCache, timeZone, () => {
    const out: Transition[] = [];
    const end = Date.UTC(DST_CHECK_YEARS.to + 1, 0, 1);
    let t = Date.UTC(DST_CHECK_YEARS.from, 0, 1);
    let o = offsetAt(t, timeZone);
    for (; t < end; t += 2 * DAY) {
      const o2 = offsetAt(t + 2 * DAY, timeZone);
      if (o2 === o) continue;
      let [lo, hi] = [t / MINUTE, (t + 2 * DAY) / MINUTE];
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetAt(mid * MINUTE, timeZone) === o) lo = mid; else hi = mid;
      }
      out.push({ at: hi * MINUTE, before: o, after: o2 });
      o = o2;
    }
    return out;
  });
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
const wallText = (w: Date): string =>
  `${pad2(w.getUTCHours())}:${pad2(w.getUTCMinutes())} on ${w.getUTCFullYear()}-${pad2(w.getUTCMonth() + 1)}-${pad2(w.getUTCDate())}`;

/** The first run (wall time, floating) inside [start, end), if any. */
function firstRunIn(s: Schedule, start: number, end: number): Date | undefined {
  const job = wallJob(s.cron);
  for (let cursor = new Date(start - MINUTE); ;) {
    const next = job.nextRun(cursor);
    if (!next || next.getTime() >= end) return undefined;
    if (passesFilter(s, next)) return next;
    cursor = next;
  }
}

const noteCache = new Map<string, string[]>();

/**
 * Warnings (at most one for a gap, one for an overlap) for runs of `s` at a wall time the zone
 * skips or repeats, saying what `scheduler` does then (see schedule-runs.ts). Empty for UTC.
 */
export function scheduleDstNotes(s: Schedule, timeZone: string, scheduler: SchedulerKind): string[] {
  return memo(noteCache, `${s.cron}|${s.filter ?? ''}|${timeZone}|${scheduler}`, () => {
    const fixed = isFixedTime(s.cron);
    let gap: string | undefined;
    let overlap: string | undefined;
    for (const tr of zoneTransitions(timeZone)) {
      const [a, b] = [tr.at + Math.min(tr.before, tr.after), tr.at + Math.max(tr.before, tr.after)];
      const hit = firstRunIn(s, a, b);
      if (!hit) continue;
      if (tr.after > tr.before && !gap) {
        const does = scheduler === 'bacula' ? 'Bacula skips that run'
          : scheduler === 'systemd' ? 'the systemd timer skips that run'
          : fixed ? 'cron runs it once right after the clocks jump' : 'cron skips the runs in the skipped time';
        gap = `runs at ${wallText(hit)}, a time that does not exist in ${timeZone} (clocks jump forward): ${does}; move it out of ${wallText(new Date(a)).slice(0, 5)}-${wallText(new Date(b)).slice(0, 5)}`;
      } else if (tr.after < tr.before && !overlap) {
        const does = scheduler === 'bacula' ? 'Bacula runs it twice'
          : scheduler === 'systemd' ? 'the systemd timer runs it once (the first occurrence)'
          : fixed ? 'cron runs it once' : 'cron runs it at both occurrences';
        overlap = `runs at ${wallText(hit)}, a time that happens twice in ${timeZone} (clocks go back): ${does}; move it out of ${wallText(new Date(a)).slice(0, 5)}-${wallText(new Date(b)).slice(0, 5)}`;
      }
      if (gap && overlap) break;
    }
    return [gap, overlap].filter((m): m is string => m !== undefined);
  }).slice();
}
