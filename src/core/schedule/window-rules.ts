// Policy `window` and `blackout` as data: parsed from the repo's text, checked, and said back in words.
// Pure: no clock; the times are wall-clock times in settings.time_zone (see window.ts for the math).
import { parseDuration } from '../retention-duration.js';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A window that recurs every day (`22:00`) or every week (`sat 12:00`), lasting `durationMs` of wall-clock time. */
export interface RecurringWindow {
  /** 0 = Sunday … 6 = Saturday; absent: every day. */
  weekday?: number;
  /** Minutes after local midnight. */
  minute: number;
  durationMs: number;
  /** As written: `sat 12:00 for 30h`. */
  text: string;
}

/** Whole local days, `from` to `to` inclusive (`YYYY-MM-DD`). */
export interface DateRange { from: string; to: string }

export type Blackout = RecurringWindow | DateRange;

/** When scheduled and catch-up backups may start. Absent or empty: any time. */
export interface WindowRules {
  window?: RecurringWindow;
  blackouts: Blackout[];
}

export const isRange = (b: Blackout): b is DateRange => 'from' in b;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
/** `message` is empty where the JSON schema already reports the problem (a wrong type). */
export interface RuleProblem { path: (string | number)[]; message: string }

/** `sat 12:00` or `12:00` plus a duration; a window longer than its period is refused. */
export function parseRecurring(v: unknown, what: string): { rule: RecurringWindow } | { problem: RuleProblem } {
  if (!isObj(v)) return { problem: { path: [], message: '' } }; // the schema says "must be object"
  const o = v;
  if (o.start === undefined) return { problem: { path: ['start'], message: `${what}.start is required, e.g. "sat 12:00" or "22:00"` } };
  if (typeof o.start !== 'string') return { problem: { path: ['start'], message: '' } }; // the schema says "must be string"
  const start = o.start.trim().toLowerCase();
  const m = /^(?:(sun|mon|tue|wed|thu|fri|sat)[a-z]*\s+)?([01]?\d|2[0-3]):([0-5]\d)$/.exec(start);
  if (!m) return { problem: { path: ['start'], message: `${what}.start ${JSON.stringify(o.start)}: expected "HH:MM" (daily) or "<weekday> HH:MM" (weekly), e.g. "sat 12:00"` } };
  if (typeof o.duration !== 'string') return { problem: { path: ['duration'], message: `${what}.duration is required, e.g. 30h` } };
  const dur = parseDuration(o.duration);
  if ('error' in dur) return { problem: { path: ['duration'], message: `${what}.duration: ${dur.error}` } };
  const weekday = m[1] ? WEEKDAYS.indexOf(m[1] as (typeof WEEKDAYS)[number]) : undefined;
  const period = weekday === undefined ? DAY : 7 * DAY;
  if (dur.ms <= 0) return { problem: { path: ['duration'], message: `${what}.duration must be longer than 0` } };
  if (dur.ms > period) return { problem: { path: ['duration'], message: `${what}.duration ${String(o.duration)} is longer than its period (${weekday === undefined ? 'a daily window: at most 24h' : 'a weekly window: at most 7d'})` } };
  const hh = Number(m[2]);
  const mm = Number(m[3]);
  const clock = `${String(hh).padStart(2, '0')}:${m[3]}`;
  return { rule: { ...(weekday !== undefined ? { weekday } : {}), minute: hh * 60 + mm, durationMs: dur.ms, text: `${weekday !== undefined ? `${WEEKDAYS[weekday]} ` : 'daily '}${clock} for ${String(o.duration)}` } };
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A real calendar date `YYYY-MM-DD`. */
export function isDate(s: unknown): s is string {
  const m = typeof s === 'string' ? DATE_RE.exec(s) : null;
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

function parseRange(o: Obj, i: number): { rule: DateRange } | { problem: RuleProblem } {
  for (const k of ['from', 'to'] as const) {
    if (!isDate(o[k])) return { problem: { path: [i, k], message: `blackout[${i}].${k} ${JSON.stringify(o[k])}: expected a calendar date YYYY-MM-DD` } };
  }
  const from = o.from as string;
  const to = o.to as string;
  if (to < from) return { problem: { path: [i, 'to'], message: `blackout[${i}].to ${to} is before its from ${from}` } };
  return { rule: { from, to } };
}

/** The rules of one policy (`window`, `blackout` as written), with every problem at its field. */
export function parseWindowRules(window: unknown, blackout: unknown): { rules?: WindowRules; problems: { field: 'window' | 'blackout'; problem: RuleProblem }[] } {
  const problems: { field: 'window' | 'blackout'; problem: RuleProblem }[] = [];
  if (window === undefined && blackout === undefined) return { problems };
  const rules: WindowRules = { blackouts: [] };
  if (window !== undefined) {
    const r = parseRecurring(window, 'window');
    if ('problem' in r) problems.push({ field: 'window', problem: r.problem }); else rules.window = r.rule;
  }
  (Array.isArray(blackout) ? blackout : []).forEach((b: unknown, i: number) => {
    const o = isObj(b) ? b : {};
    const range = 'from' in o || 'to' in o;
    if (range && ('start' in o || 'duration' in o)) {
      problems.push({ field: 'blackout', problem: { path: [i], message: `blackout[${i}]: either { start, duration } (recurring) or { from, to } (whole days), not both` } });
      return;
    }
    const r = range ? parseRange(o, i) : parseRecurring(b, `blackout[${i}]`);
    if ('problem' in r) problems.push({ field: 'blackout', problem: 'from' in o || 'to' in o ? r.problem : { ...r.problem, path: [i, ...r.problem.path] } });
    else rules.blackouts.push(r.rule);
  });
  return { rules, problems };
}

/** The rules in words: `window sat 12:00 for 30h; blackout 2026-12-24..2026-12-27`. */
export function rulesText(r: WindowRules): string {
  const parts = r.window ? [`window ${r.window.text}`] : [];
  for (const b of r.blackouts) parts.push(`blackout ${isRange(b) ? (b.from === b.to ? b.from : `${b.from}..${b.to}`) : b.text}`);
  return parts.join('; ');
}
