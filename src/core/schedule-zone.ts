// Wall-clock time in an IANA zone: offsets, and which instants (none, one, two) a wall time names
// across a daylight-saving change. Pure: Intl only, never reads the clock.

const MINUTE = 60_000;
const DAY = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

const isUtc = (tz: string): boolean => tz === 'UTC' || tz === 'Etc/UTC';

/** The zone's UTC offset (ms, east positive) at an instant. */
export function offsetAt(instant: number, timeZone: string): number {
  if (isUtc(timeZone)) return 0;
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(instant)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The wall-clock time of an instant, as "floating" ms (wall time read as if it were UTC). */
export const wallOf = (instant: number, timeZone: string): number => instant + offsetAt(instant, timeZone);

/**
 * What a wall time (floating ms) means in the zone: `instants` it names, in order (two in a
 * fall-back overlap, none in a spring-forward gap), and for a gap `changeAt`, the instant the
 * clock jumped (the first instant of the later offset).
 */
export function wallToInstants(wall: number, timeZone: string): { instants: number[]; changeAt?: number } {
  if (isUtc(timeZone)) return { instants: [wall] };
  const before = offsetAt(wall - DAY, timeZone);
  const after = offsetAt(wall + DAY, timeZone);
  const instants = [...new Set([before, after])]
    .map((o) => wall - o)
    .filter((t) => offsetAt(t, timeZone) === wall - t)
    .sort((a, b) => a - b);
  if (instants.length > 0 || before === after) return { instants };
  // Gap: offsets are `before` up to the change and `after` from it; search minute by minute.
  let lo = Math.floor((wall - after) / MINUTE); // still `before`
  let hi = Math.ceil((wall - before) / MINUTE); // already `after`
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid * MINUTE, timeZone) === after) hi = mid; else lo = mid;
  }
  return { instants, changeAt: hi * MINUTE };
}
