// Schedule words and cron expressions: parsing, next-run prediction, and translation into
// Bacula `Run =` lines and cron.d entries. Pure: no I/O, never reads the clock.
//
// Schedule words (all times are wall-clock times in settings.time_zone, which must match the
// local time zone of the director/cron host: Bacula and cron both schedule in host local time):
//
//   daily     every day at 12:00                                   cron `0 12 * * *`
//   weekly    every Saturday at 12:00 (seed 002: "Saturday 12:00   cron `0 12 * * 6`
//             (Noon) backup cycle starts")
//   biweekly  Saturday 12:00 in even ISO-8601 weeks (W02, W04, …,   cron `0 12 * * 6` + filter even-iso-week
//             W52). After a 53-week year the gap is three weeks
//             (W52 → W53, W01 skipped → W02).
//   monthly   the first Saturday of each month at 12:00            cron `0 12 * * 6` + filter first-week-of-month
//             (day of month 1–7)
//
// Anything else must be a standard 5-field cron expression (minute hour day-of-month month
// day-of-week; numbers, `*`, `a-b`, `*/n`, `a-b/n`, lists, and three-letter month/day names).
// Seconds fields, `@nicknames`, and the non-standard `L`, `W`, `#` and `?` are rejected.
// As in cron, when both day-of-month and day-of-week are restricted a day matches either one.
//
// Bacula mapping: see schedule-bacula.ts (baculaRunLines, re-exported here).
// Next runs (plan, overdue): schedule-runs.ts (nextRuns, re-exported here); DST warnings: schedule-dst.ts.
// cron.d mapping: the cron expression, plus a guard before the command for the filters:
// biweekly `date +\%V | grep -q '[02468]$' &&`, monthly `[ "$(date +\%d)" -le 7 ] &&`.
import { CronPattern } from 'croner';
import type { Schedule } from './model.js';

// schedule-bacula.ts and schedule-runs.ts import parseCron/memo/MONTHS/DAYS back; neither module uses the other at load time.
export { baculaRunLines } from './schedule-bacula.js';
export { isoWeek, nextRuns } from './schedule-runs.js';

type Filter = NonNullable<Schedule['filter']>;

interface WordDef { cron: string; filter?: Filter }

/** The schedule words. Keys are the slugs too. */
export const SCHEDULE_WORDS: Readonly<Record<'daily' | 'weekly' | 'biweekly' | 'monthly', WordDef>> = {
  daily: { cron: '0 12 * * *' },
  weekly: { cron: '0 12 * * 6' },
  biweekly: { cron: '0 12 * * 6', filter: 'even-iso-week' },
  monthly: { cron: '0 12 * * 6', filter: 'first-week-of-month' },
};

export const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
const TOKEN = /^(\*(\/\d+)?|\d+(-\d+(\/\d+)?)?)$/;

/** Replace month/day names by numbers and check the portable cron grammar of one field. */
function canonicalField(field: string, index: number): string | { error: string } {
  const names = index === 3 ? MONTHS : index === 4 ? DAYS : undefined;
  let bad: string | undefined;
  const out = field.replace(/[a-z]+/gi, (w) => {
    const i = names ? names.indexOf(w.toLowerCase()) : -1;
    if (i < 0) { bad ??= w; return w; }
    return String(index === 3 ? i + 1 : i);
  });
  if (bad !== undefined) return { error: `${FIELD_NAMES[index]} field "${field}": "${bad}" is not allowed here` };
  for (const tok of out.split(',')) {
    if (!TOKEN.test(tok)) return { error: `${FIELD_NAMES[index]} field "${field}": "${tok}" is not standard cron syntax` };
  }
  return out;
}

/**
 * Parse a schedule as written in the policy repo: a word (case-insensitive) or a 5-field cron
 * expression. The returned `cron` is canonical (single spaces, names replaced by numbers), so
 * it is safe for any cron.d implementation and for `scheduleSlug`.
 */
export function normalizeSchedule(spec: string): { schedule: Schedule } | { error: string } {
  const text = spec.trim();
  if (text === '') return { error: 'empty schedule' };
  const key = text.toLowerCase();
  if (Object.hasOwn(SCHEDULE_WORDS, key)) {
    const word = SCHEDULE_WORDS[key as keyof typeof SCHEDULE_WORDS];
    return { schedule: { spec, cron: word.cron, ...(word.filter ? { filter: word.filter } : {}) } };
  }
  const parsed = parseCron(text);
  if ('error' in parsed) return parsed;
  const { cron, fields, pattern: p } = parsed;
  // Vixie cron/cronie treat a field starting with `*` (e.g. `*/2`) as unrestricted when deciding
  // between AND and OR of day-of-month/day-of-week; croner does not. Refuse the ambiguous form.
  const [dom, dow] = [fields[2]!, fields[4]!];
  if (!p.starDOM && !p.starDOW && (dom.startsWith('*') || dow.startsWith('*'))) {
    return { error: `day-of-month "${dom}" with day-of-week "${dow}" is read differently by cron implementations; write the days explicitly (e.g. 1-31/2)` };
  }
  return { schedule: { spec, cron } };
}

type ParsedCron = { cron: string; fields: string[]; pattern: CronPattern } | { error: string };

/** Bounded memo for pure results: a fleet repeats a handful of schedules thousands of times. */
export function memo<V>(cache: Map<string, V>, key: string, compute: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = compute();
    if (cache.size >= 1000) cache.clear();
    cache.set(key, v);
  }
  return v;
}

const parsedCrons = new Map<string, ParsedCron>();

/** Check the portable 5-field grammar, canonicalise, and let croner validate the ranges (memoised; read-only result). */
export function parseCron(text: string): ParsedCron {
  return memo(parsedCrons, text, () => parseCronUncached(text));
}

function parseCronUncached(text: string): ParsedCron {
  const raw = text.trim().split(/\s+/);
  if (raw.length !== 5) {
    return { error: `expected daily, weekly, biweekly, monthly or a 5-field cron expression (minute hour day-of-month month day-of-week), got ${raw.length} field${raw.length === 1 ? '' : 's'}` };
  }
  const fields: string[] = [];
  for (const [i, f] of raw.entries()) {
    const c = canonicalField(f, i);
    if (typeof c !== 'string') return c;
    fields.push(c);
  }
  const cron = fields.join(' ');
  try {
    return { cron, fields, pattern: new CronPattern(cron) };
  } catch (e) {
    return { error: (e instanceof Error ? e.message : String(e)).replace(/^CronPattern: /, '') };
  }
}

// ---------------------------------------------------------------------------------------------
// Slugs

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * A stable name for a schedule, safe in Bacula resource names, file names and argv:
 * `daily`, `weekly`, `biweekly`, `monthly` for the words (or their exact cron+filter), else
 * `cron-<cron>` with ` `→`_`, `*`→`x`, `/`→`s`, `,`→`.` (e.g. `0 2 * * 1-5` → `cron-0_2_x_x_1-5`),
 * plus `-even-iso-week` / `-first-week-of-month` for a filter. Long ones end in a hash.
 */
export function scheduleSlug(s: Schedule): string {
  for (const [word, def] of Object.entries(SCHEDULE_WORDS)) {
    if (def.cron === s.cron && def.filter === s.filter) return word;
  }
  const body = s.cron.trim().toLowerCase().split(/\s+/).join('_')
    .replace(/\*/g, 'x').replace(/\//g, 's').replace(/,/g, '.').replace(/[^a-z0-9._-]/g, '-');
  const slug = `cron-${body}${s.filter ? `-${s.filter}` : ''}`;
  return slug.length <= 100 ? slug : `${slug.slice(0, 88)}-${fnv1a(slug)}`;
}

// ---------------------------------------------------------------------------------------------
// cron.d

/**
 * The 5-field time for a cron.d line and, for filtered schedules, shell conditions to put
 * before the command joined with ` && `. Guards are constant text, already escaped for crontab
 * (`%` written `\%`), and avoid `$((…))` on zero-padded numbers (08 would be read as octal).
 */
export function cronEntryTimes(s: Schedule): { cron: string; guard?: string[] } {
  if (s.filter === 'even-iso-week') return { cron: s.cron, guard: ["date +\\%V | grep -q '[02468]$'"] };
  if (s.filter === 'first-week-of-month') return { cron: s.cron, guard: ['[ "$(date +\\%d)" -le 7 ]'] };
  return { cron: s.cron };
}

/** A short human description for comments: the word's meaning, or `cron <expr>`. */
export function describeSchedule(s: Schedule): string {
  switch (scheduleSlug(s)) {
    case 'daily': return 'daily: every day 12:00';
    case 'weekly': return 'weekly: Saturday 12:00';
    case 'biweekly': return 'biweekly: Saturday 12:00 in even ISO weeks';
    case 'monthly': return 'monthly: first Saturday of the month 12:00';
    default: {
      const f = s.filter === 'even-iso-week' ? ', even ISO weeks' : s.filter === 'first-week-of-month' ? ', days 1-7' : '';
      return `cron ${s.cron}${f}`;
    }
  }
}
