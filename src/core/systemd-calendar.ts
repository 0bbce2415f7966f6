// A cron schedule as systemd OnCalendar= expressions (systemd.time(5)), in settings.time_zone.
// Pure. systemd ANDs a weekday with a date where cron ORs a restricted day-of-month with a
// restricted day-of-week, so that case becomes two expressions (a timer fires on either).
// The first-week-of-month filter is a date range (01..07); even ISO weeks cannot be said in
// systemd's calendar syntax and are left to ExecCondition= (see render-systemd.ts).
import type { Schedule } from './model.js';
import { parseCron } from './schedule.js';

/** systemd's week starts on Monday (a range like Sun..Tue would not wrap). */
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const pad2 = (n: number): string => String(n).padStart(2, '0');
const setOf = (arr: ArrayLike<number>, offset: number): number[] => Array.from(arr).flatMap((v, i) => (v ? [i + offset] : []));

/** Sorted numbers as `a..b` ranges and single values joined by `,` (three or more make a range). */
function field(values: number[], name: (v: number) => string): string {
  const out: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    if (j - i >= 2) out.push(`${name(values[i]!)}..${name(values[j]!)}`);
    else for (let k = i; k <= j; k++) out.push(name(values[k]!));
    i = j + 1;
  }
  return out.join(',');
}

const all = (values: number[], size: number): boolean => values.length === size;

/**
 * OnCalendar= values equivalent to `s` (its first-week-of-month filter included; an
 * even-iso-week filter is NOT expressed: the caller adds ExecCondition=). Error for a cron
 * expression croner rejects (never for a normalized Schedule) or one that never runs.
 */
export function onCalendarSpecs(s: Schedule, timeZone: string): { specs: string[] } | { error: string } {
  const parsed = parseCron(s.cron);
  if ('error' in parsed) return parsed;
  const p = parsed.pattern;
  const minutes = setOf(p.minute, 0);
  const hours = setOf(p.hour, 0);
  const months = setOf(p.month, 1);
  let dom: number[] | undefined = setOf(p.day, 1);
  let dow: number[] | undefined = setOf(p.dayOfWeek, 0);
  if (p.starDOM || all(dom, 31)) dom = undefined;
  if (p.starDOW || all(dow, 7)) dow = undefined;
  // Neither field is `*`: cron runs when either matches; one of them unrestricted means every day.
  if (!p.starDOM && !p.starDOW && (dom === undefined || dow === undefined)) [dom, dow] = [undefined, undefined];
  const firstWeek = s.filter === 'first-week-of-month';
  const week = [1, 2, 3, 4, 5, 6, 7];
  const days: { dom?: number[]; dow?: number[] }[] = dom && dow ? [{ dom }, { dow }] : [{ ...(dom ? { dom } : {}), ...(dow ? { dow } : {}) }];
  const time = `${hours.length === 24 ? '*' : field(hours, pad2)}:${minutes.length === 60 ? '*' : field(minutes, pad2)}:00`;
  const month = all(months, 12) ? '*' : field(months, pad2);
  const specs: string[] = [];
  for (const d of days) {
    const dates = firstWeek ? (d.dom ?? week).filter((x) => x <= 7) : d.dom;
    if (dates && dates.length === 0) continue;
    const weekday = d.dow ? `${field(d.dow.map((x) => (x + 6) % 7).sort((a, b) => a - b), (x) => WEEKDAYS[x]!)} ` : '';
    specs.push(`${weekday}*-${month}-${dates ? field(dates, pad2) : '*'} ${time} ${timeZone}`);
  }
  if (specs.length === 0 || minutes.length === 0 || hours.length === 0) return { error: `"${s.cron}" never runs` };
  return { specs };
}
