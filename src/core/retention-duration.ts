// Durations for `keep_within` and time-stamp parsing for restore points. Pure: no clock, no I/O.

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Unit lengths. restic's `--keep-within` understands y/m/d/h with calendar arithmetic; we return a
 * plain millisecond count instead, so units have fixed lengths: y = 365d, m = 30d, w = 7d (not in
 * restic, but policies say `8w`), d = 24h, h = 1h. `m` is months, never minutes.
 */
const UNIT_MS: Readonly<Record<string, number>> = { y: 365 * DAY_MS, m: 30 * DAY_MS, w: 7 * DAY_MS, d: DAY_MS, h: HOUR_MS };

const DURATION_RE = /^(?:\d+[ymwdh])+$/;
const PART_RE = /(\d+)([ymwdh])/g;

/** Parse `8w`, `30d`, `12h`, `1y2m`: numbers with a unit each, every unit at most once, any order. */
export function parseDuration(s: string): { ms: number } | { error: string } {
  if (typeof s !== 'string' || !DURATION_RE.test(s)) {
    return { error: `invalid duration ${JSON.stringify(s)}: expected numbers with units y, m, w, d or h, e.g. 8w, 30d, 12h, 1y2m` };
  }
  const seen = new Set<string>();
  let ms = 0;
  for (const m of s.matchAll(PART_RE)) {
    const unit = m[2] ?? '';
    if (seen.has(unit)) return { error: `invalid duration ${JSON.stringify(s)}: unit "${unit}" given twice` };
    seen.add(unit);
    ms += Number(m[1]) * (UNIT_MS[unit] ?? 0);
  }
  if (!Number.isSafeInteger(ms)) return { error: `invalid duration ${JSON.stringify(s)}: too large` };
  return { ms };
}

// An explicit offset is required: a bare local time would make the result depend on the process TZ.
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/** Epoch ms of an ISO-8601 time with `Z` or `±hh:mm`, or undefined when malformed or impossible (Feb 30). */
export function parseTime(s: string): number | undefined {
  const m = typeof s === 'string' ? TIME_RE.exec(s) : null;
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec, oh, om] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as number[];
  if (h! > 23 || mi! > 59 || sec! > 59 || oh! > 23 || om! > 59) return undefined;
  const day = new Date(0);
  day.setUTCFullYear(y!, mo! - 1, d!);
  if (day.getUTCMonth() !== mo! - 1 || day.getUTCDate() !== d!) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? ms : undefined;
}
