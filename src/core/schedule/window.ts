// Whether a backup may start now under a policy's window and blackouts, and when it next may.
// Pure: `now` is a parameter. Both ends of every window are wall-clock times in the zone: a window
// that spans a daylight-saving change is an hour shorter or longer in real time, never shifted.
import { wallOf, wallToInstants } from '../schedule-zone.js';
import type { WindowNote } from '../reconcile/types.js';
import { isRange, rulesText, type Blackout, type RecurringWindow, type WindowRules } from './window-rules.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Steps of "skip this blackout, find the next window" before giving up (years of weekly windows). */
const MAX_STEPS = 500;

type Span = readonly [start: number, end: number];

/** The instant a wall time names: the first of two in a fall-back overlap, the jump itself in a spring-forward gap. */
function instantOf(wall: number, timeZone: string): number {
  const r = wallToInstants(wall, timeZone);
  return r.instants[0] ?? r.changeAt ?? wall;
}

const midnightOf = (wall: number): number => Math.floor(wall / DAY) * DAY;

/** The occurrence of `rule` that starts on the local day `day` (floating midnight), if it starts that day. */
function occurrence(rule: RecurringWindow, day: number, timeZone: string): Span | undefined {
  if (rule.weekday !== undefined && new Date(day).getUTCDay() !== rule.weekday) return undefined;
  const startWall = day + rule.minute * MINUTE;
  return [instantOf(startWall, timeZone), instantOf(startWall + rule.durationMs, timeZone)];
}

/** More than any zone's offset change: a day whose wall-clock span misses `t` by this much cannot hold it. */
const SLACK = 3 * 3_600_000;

/** The occurrence of `rule` holding instant `t` (start inclusive, end exclusive). */
function recurringAt(rule: RecurringWindow, t: number, timeZone: string): Span | undefined {
  const wallT = wallOf(t, timeZone);
  const today = midnightOf(wallT);
  for (let d = 0; d <= 8; d++) {
    const startWall = today - d * DAY + rule.minute * MINUTE;
    if (wallT < startWall - SLACK || wallT >= startWall + rule.durationMs + SLACK) continue; // cheap wall-clock test first
    const o = occurrence(rule, today - d * DAY, timeZone);
    if (o && o[0] <= t && t < o[1]) return o;
  }
  return undefined;
}

/** The first non-empty occurrence of `rule` starting at or after `t`. */
function nextRecurring(rule: RecurringWindow, t: number, timeZone: string): Span | undefined {
  const wallT = wallOf(t, timeZone);
  const today = midnightOf(wallT);
  for (let d = 0; d <= 15; d++) {
    if (today + d * DAY + rule.minute * MINUTE + SLACK < wallT) continue; // starts before t for sure
    const o = occurrence(rule, today + d * DAY, timeZone);
    if (o && o[0] >= t && o[1] > o[0]) return o;
  }
  return undefined;
}

const dateWall = (date: string): number => Date.parse(`${date}T00:00:00Z`);

function blackoutAt(b: Blackout, t: number, timeZone: string): Span | undefined {
  if (!isRange(b)) return recurringAt(b, t, timeZone);
  const span: Span = [instantOf(dateWall(b.from), timeZone), instantOf(dateWall(b.to) + DAY, timeZone)];
  return span[0] <= t && t < span[1] ? span : undefined;
}

/** The first instant at or after `from` (ms) inside the window and outside every blackout; undefined if none is found. */
export function firstAllowed(rules: WindowRules, from: number, timeZone: string): number | undefined {
  let t = from;
  for (let i = 0; i < MAX_STEPS; i++) {
    if (rules.window && !recurringAt(rules.window, t, timeZone)) {
      const next = nextRecurring(rules.window, t, timeZone);
      if (!next) return undefined;
      t = next[0];
    }
    const ends = rules.blackouts.map((b) => blackoutAt(b, t, timeZone)?.[1]).filter((e): e is number => e !== undefined);
    if (!ends.length) return t;
    t = Math.max(...ends);
  }
  return undefined;
}

const hasRules = (r: WindowRules | undefined): r is WindowRules => !!r && (!!r.window || r.blackouts.length > 0);

/** The next time a backup may start at or after `fromIso` (ISO), or undefined when the rules never allow one soon. */
export function nextAllowedStart(rules: WindowRules | undefined, fromIso: string, timeZone: string): string | undefined {
  const from = Date.parse(fromIso);
  if (!hasRules(rules)) return new Date(from).toISOString();
  const t = firstAllowed(rules, from, timeZone);
  return t === undefined ? undefined : new Date(t).toISOString();
}

/** Whether a scheduled or catch-up backup may start at `nowIso`, and if not, when next; undefined without rules. */
export function windowState(rules: WindowRules | undefined, nowIso: string, timeZone: string): WindowNote | undefined {
  if (!hasRules(rules)) return undefined;
  const now = Date.parse(nowIso);
  const next = firstAllowed(rules, now, timeZone);
  const text = rulesText(rules);
  if (next === now) return { open: true, text };
  return { open: false, ...(next !== undefined ? { nextStart: new Date(next).toISOString() } : {}), text };
}
