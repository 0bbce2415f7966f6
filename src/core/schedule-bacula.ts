// Schedule → Bacula `Run =` lines (split from schedule.ts, which re-exports baculaRunLines).
//
// Bacula mapping: `daily` → `daily at 12:00`, `weekly` → `sat at 12:00`,
// `monthly` → `1st sat at 12:00`, `biweekly` → `w02 w04 … w52 sat at 12:00` plus
// `w00 jan 1 sat at 12:00`. Bacula's week number (`w00`–`w53`, lib/btime.c tm_woy) is the ISO
// week except around New Year: early-January days still in the previous ISO year are w00, and
// late-December days already in ISO W01 are w53 (same parity, harmless). The extra line keeps
// Saturday 1 January (ISO W52 in all but rare years) and leaves out Saturday 2 January (always
// ISO W53). Residual difference: 1 January after a leap year that began on a Thursday (next:
// 2033-01-01, ISO 2032-W53) runs under Bacula but not under cron/nextRuns.
import type { Schedule } from './model.js';
import { DAYS, MONTHS, memo, parseCron } from './schedule.js';

interface DaySets {
  minutes: number[];
  hours: number[];
  /** 1-31, undefined = unrestricted */
  dom?: number[];
  /** 1-12, undefined = unrestricted */
  months?: number[];
  /** 0-6 (Sunday = 0), undefined = unrestricted */
  dow?: number[];
}

const setOf = (arr: ArrayLike<number>, offset: number): number[] =>
  Array.from(arr).flatMap((v, i) => (v ? [i + offset] : []));

function expand(s: Schedule): DaySets | { error: string } {
  const parsed = parseCron(s.cron);
  if ('error' in parsed) return parsed;
  const p = parsed.pattern;
  const dom = setOf(p.day, 1);
  const dow = setOf(p.dayOfWeek, 0);
  const months = setOf(p.month, 1);
  const domAll = dom.length === 31;
  const dowAll = dow.length === 7;
  const out: DaySets = { minutes: setOf(p.minute, 0), hours: setOf(p.hour, 0) };
  if (months.length !== 12) out.months = months;
  if (p.starDOM && p.starDOW) return out;
  if (p.starDOM) return dowAll ? out : { ...out, dow };
  if (p.starDOW) return domAll ? out : { ...out, dom };
  // Neither is `*`: cron runs when EITHER matches.
  if (domAll || dowAll) return out;
  return { error: `cron runs when day-of-month OR day-of-week matches, but a Bacula Run line needs both to match; split "${s.cron}" into two schedules or restrict only one of the two fields` };
}

/** Collapse sorted numbers into `a-b` ranges, each rendered with `name`. */
function ranges(values: number[], name: (v: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    const a = name(values[i]!);
    if (j === i) out.push(a);
    else if (j === i + 1) out.push(a, name(values[j]!));
    else out.push(`${a}-${name(values[j]!)}`);
    i = j + 1;
  }
  return out;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
const EVEN_WEEKS = Array.from({ length: 26 }, (_, i) => `w${pad2(2 * (i + 1))}`).join(' ');

/**
 * The `Run = …` values of a Bacula Schedule resource equivalent to `s`: one line per time of
 * day (at most 24), each with month / day-of-month / day-of-week keywords. Returns an error
 * when Bacula cannot say the same thing (more than 24 times a day; day-of-month and
 * day-of-week both restricted, which cron ORs and Bacula ANDs; L or # patterns).
 */
export function baculaRunLines(s: Schedule): { lines: string[] } | { error: string } {
  // Asked once per VM that has its own schedule; a fleet has a handful of distinct ones.
  const r = memo(runLineCache, `${s.cron}|${s.filter ?? ''}`, () => computeRunLines(s));
  return 'lines' in r ? { lines: [...r.lines] } : { ...r };
}

const runLineCache = new Map<string, { lines: string[] } | { error: string }>();

function computeRunLines(s: Schedule): { lines: string[] } | { error: string } {
  const e = expand(s);
  if ('error' in e) return e;
  const times = e.hours.flatMap((h) => e.minutes.map((m) => `${pad2(h)}:${pad2(m)}`));
  if (times.length > 24) {
    return { error: `"${s.cron}" runs ${times.length} times a day; a Bacula schedule is limited here to 24 Run lines (one per time of day)` };
  }
  if (times.length === 0) return { error: `"${s.cron}" never runs` };
  const days: string[] = [];
  if (e.months) days.push(...ranges(e.months, (m) => MONTHS[m - 1]!));
  if (e.dom) days.push(...ranges(e.dom, String));
  if (e.dow) days.push(...ranges(e.dow, (d) => DAYS[d]!));
  const specs: string[][] = [];
  if (s.filter === 'first-week-of-month') specs.push(['1st', ...days]);
  else if (s.filter === 'even-iso-week') {
    specs.push([EVEN_WEEKS, ...days]);
    // Early-January days Bacula numbers w00 that are in an even ISO week (see file header).
    const matches = (mday: number, wday: number): boolean =>
      (!e.months || e.months.includes(1)) && (!e.dom || e.dom.includes(mday)) && (!e.dow || e.dow.includes(wday));
    if (matches(1, 6)) specs.push(['w00', 'jan', '1', 'sat']);
    const sundays = [1, 2].filter((md) => matches(md, 0));
    if (sundays.length) specs.push(['w00', 'jan', ...sundays.map(String), 'sun']);
  } else specs.push(days.length ? days : ['daily']);
  const lines: string[] = [];
  for (const t of times) {
    for (const spec of specs) {
      // Bacula's parser rejects a Run value that starts with a bare number; `on` is a no-op word.
      const words = /^\d+(-\d+)?$/.test(spec[0]!) ? ['on', ...spec] : spec;
      lines.push(`${words.join(' ')} at ${t}`);
    }
  }
  return { lines };
}
