// windowState against a brute-force oracle: random windows and blackouts in UTC (plain arithmetic,
// no zone math), every 15 minutes checked between now and the reported next start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWindowRules, type WindowRules } from '../../src/core/schedule/window-rules.js';
import { windowState } from '../../src/core/schedule/window.js';

const MIN = 60_000;
const DAY = 86_400_000;
const STEP = 15 * MIN;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

interface Rec { weekday?: number; minute: number; hours: number }
interface Case { window?: Rec; recurring: Rec[]; ranges: [string, string][] }

const raw = (r: Rec) => ({ start: `${r.weekday === undefined ? '' : `${DAYS[r.weekday]} `}${String(Math.floor(r.minute / 60)).padStart(2, '0')}:${String(r.minute % 60).padStart(2, '0')}`, duration: `${r.hours}h` });

function inRec(r: Rec, t: number): boolean {
  const today = Math.floor(t / DAY) * DAY;
  for (let d = 0; d <= 8; d++) {
    const day = today - d * DAY;
    if (r.weekday !== undefined && new Date(day).getUTCDay() !== r.weekday) continue;
    const s = day + r.minute * MIN;
    if (s <= t && t < s + r.hours * 3_600_000) return true;
  }
  return false;
}
const date = (t: number): string => new Date(t).toISOString().slice(0, 10);
const allowed = (c: Case, t: number): boolean =>
  (!c.window || inRec(c.window, t)) && !c.recurring.some((r) => inRec(r, t)) && !c.ranges.some(([f, to]) => f <= date(t) && date(t) <= to);

function randomCase(r: () => number): Case {
  const rec = (maxHours: (weekly: boolean) => number): Rec => {
    const weekly = r() < 0.5;
    return { ...(weekly ? { weekday: Math.floor(r() * 7) } : {}), minute: Math.floor(r() * 96) * 15, hours: 1 + Math.floor(r() * maxHours(weekly)) };
  };
  const base = Date.parse('2026-06-01T00:00:00Z');
  return {
    ...(r() < 0.8 ? { window: rec((w) => (w ? 168 : 24)) } : {}),
    recurring: Array.from({ length: Math.floor(r() * 3) }, () => rec((w) => (w ? 30 : 6))),
    ranges: Array.from({ length: Math.floor(r() * 3) }, () => {
      const f = base + Math.floor(r() * 60) * DAY;
      return [date(f), date(f + Math.floor(r() * 5) * DAY)] as [string, string];
    }),
  };
}

test('windowState agrees with a brute-force oracle (300 random cases, UTC)', () => {
  const r = rng(20261203);
  let closed = 0;
  for (let i = 0; i < 300; i++) {
    const c = randomCase(r);
    const parsed = parseWindowRules(c.window ? raw(c.window) : undefined, [...c.recurring.map(raw), ...c.ranges.map(([from, to]) => ({ from, to }))]);
    assert.deepEqual(parsed.problems, []);
    const rules = parsed.rules as WindowRules;
    const now = Date.parse('2026-06-01T00:00:00Z') + Math.floor(r() * 70 * 96) * STEP;
    const s = windowState(rules, new Date(now).toISOString(), 'UTC');
    if (!c.window && !c.recurring.length && !c.ranges.length) { assert.equal(s, undefined); continue; }
    const why = JSON.stringify({ c, now: new Date(now).toISOString(), s });
    assert.equal(s!.open, allowed(c, now), why);
    if (s!.open) continue;
    closed++;
    const next = s!.nextStart ? Date.parse(s!.nextStart) : now + 60 * DAY;
    for (let t = now; t < next; t += STEP) assert.equal(allowed(c, t), false, `${why} allowed at ${new Date(t).toISOString()}`);
    if (s!.nextStart) assert.equal(allowed(c, next), true, why);
  }
  assert.ok(closed > 50, `enough closed cases (${closed})`);
});
