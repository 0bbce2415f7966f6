// Small, deterministic text helpers for status files: local dates, the calendar's day columns,
// ages at day granularity, sizes and durations. Everything depends on its arguments only.
import { bucketKey } from './retention-buckets.js';
import { fmt } from './prechecks.js';

const DAY_MS = 86_400_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `YYYY-MM-DD` of an instant in a time zone. */
export function localDay(iso: string, timeZone: string): string {
  return bucketKey(Date.parse(iso), 'day', timeZone);
}

const FORMATTERS = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM-DD HH:MM` of an instant in a time zone (the zone is named once, in the README header). */
export function localDateTime(iso: string, timeZone: string): string {
  let f = FORMATTERS.get(timeZone);
  if (!f) FORMATTERS.set(timeZone, (f = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })));
  const parts = Object.fromEntries(f.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

const CLOCKS = new Map<string, Intl.DateTimeFormat>();
/** `HH:MM:SS` in `timeZone` (log lines). */
export function localTime(iso: string, timeZone: string): string {
  let f = CLOCKS.get(timeZone);
  if (!f) CLOCKS.set(timeZone, (f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })));
  return f.format(new Date(iso));
}

/** Calendar arithmetic on `YYYY-MM-DD` strings (done at UTC noon, so DST never shifts a day). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T12:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** The `count` days ending with `today`, oldest first. */
export function dayWindow(today: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => addDays(today, i - count + 1));
}

/** Column header: the day of month, with the month name on the first column and on each 1st. */
export function dayLabel(day: string, first: boolean): string {
  const d = Number(day.slice(8, 10));
  return first || d === 1 ? `${MONTHS[Number(day.slice(5, 7)) - 1] ?? '?'} ${d}` : String(d);
}

/** Age in calendar days (`today`, `yesterday`, `3d ago`): changes at most once a day, so the README does not churn. */
export function dayAge(iso: string, now: string, timeZone: string): string {
  const days = Math.round((Date.parse(`${localDay(now, timeZone)}T12:00:00Z`) - Date.parse(`${localDay(iso, timeZone)}T12:00:00Z`)) / DAY_MS);
  if (days <= 0) return 'today';
  return days === 1 ? 'yesterday' : `${days}d ago`;
}

export const humanBytes = fmt;

/** `1h 02m`, `4m 05s`, `12s`. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}
