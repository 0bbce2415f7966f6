// Calendar buckets (hour/day/ISO week/month/year) of an instant in an IANA time zone, via Intl. Pure.

export type BucketUnit = 'hour' | 'day' | 'week' | 'month' | 'year';

// Formatters are costly to build; caching them changes no result.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the zone (so bucketKey will not throw). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** ISO-8601 week of a calendar date: the week (Mon-Sun) belongs to the year holding its Thursday. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const mondayBased = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() + 3 - mondayBased); // that week's Thursday
  const weekYear = date.getUTCFullYear();
  const jan1 = new Date(0);
  jan1.setUTCFullYear(weekYear, 0, 1);
  const week = Math.floor((date.getTime() - jan1.getTime()) / (7 * 86_400_000)) + 1;
  return { year: weekYear, week };
}

/** The bucket label used in reasons: `2026-02-14T13`, `2026-02-14`, `2026-W07`, `2026-02`, `2026`. */
export function bucketKey(ms: number, unit: BucketUnit, timeZone: string): string {
  const parts = formatter(timeZone).formatToParts(ms);
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const year = get('year');
  const month = get('month');
  const day = get('day');
  switch (unit) {
    case 'hour':
      return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(get('hour'))}`;
    case 'day':
      return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
    case 'week': {
      const w = isoWeek(year, month, day);
      return `${pad(w.year, 4)}-W${pad(w.week)}`;
    }
    case 'month':
      return `${pad(year, 4)}-${pad(month)}`;
    case 'year':
      return pad(year, 4);
  }
}
