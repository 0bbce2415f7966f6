import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { RestorePoint, Retention } from '../../src/core/model.js';
import { decideRetention, parseDuration, retentionKeepsSomething } from '../../src/core/retention.js';

// `t` turns the short `YYYY-MM-DDTHH:MM` into UTC ISO; longer strings pass through.
const t = (s: string): string => (s.length === 16 ? `${s}:00Z` : s);
const g = (id: string, time: string): RestorePoint => ({ id, time: t(time), status: 'ok', verify: 'ok' });
const failed = (id: string, time: string): RestorePoint => ({ id, time: t(time), status: 'failed', verify: 'none' });
const unverified = (id: string, time: string): RestorePoint => ({ id, time: t(time), status: 'ok', verify: 'none' });
const badVerify = (id: string, time: string): RestorePoint => ({ id, time: t(time), status: 'ok', verify: 'failed' });

interface Case {
  name: string;
  points: RestorePoint[];
  rules: Retention;
  timeZone?: string;
  expectKeep: string[];
  expectReasons?: Record<string, string[]>;
}

const NEWEST = 'newest verified-good point';
const HELD = 'newest backup not good: pruning held';

const cases: Case[] = [
  { name: 'no points', points: [], rules: { keepLast: 3 }, expectKeep: [] },
  {
    name: 'restic >= 0.17: a period rule whose count is not used up also keeps the oldest good point',
    points: [g('a', '2026-02-14T10:00'), g('b', '2026-02-14T08:00'), g('c', '2026-02-14T06:00')],
    rules: { keepMonthly: 6 },
    expectKeep: ['a', 'c'],
    expectReasons: { a: [NEWEST, 'keep_monthly 2026-02'], b: ['no keep rule matched'], c: ['keep_monthly oldest (6 not reached)'] },
  },
  {
    name: 'the oldest is not kept twice by one rule, and keep_last never adds it',
    points: [g('a', '2026-02-14T10:00'), g('b', '2026-02-13T10:00'), g('c', '2026-02-12T10:00')],
    rules: { keepDaily: 5, keepLast: 1 },
    expectKeep: ['a', 'b', 'c'],
    expectReasons: { c: ['keep_daily 2026-02-12'] },
  },
  {
    name: 'no rules: only the newest good point survives',
    points: [g('a', '2026-02-14T10:00'), g('b', '2026-02-13T10:00'), g('c', '2026-02-12T10:00')],
    rules: {},
    expectKeep: ['a'],
    expectReasons: { a: [NEWEST], b: ['no keep rule matched'] },
  },
  {
    name: 'all-zero rules behave like no rules',
    points: [g('a', '2026-02-14T10:00'), g('b', '2026-02-13T10:00')],
    rules: { keepLast: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0, keepHourly: 0, keepWithin: '0d' },
    expectKeep: ['a'],
  },
  {
    name: 'keep_last counts good points only',
    points: [g('a', '2026-02-14T10:00'), failed('b', '2026-02-13T10:00'), g('c', '2026-02-12T10:00'), g('d', '2026-02-11T10:00')],
    rules: { keepLast: 2 },
    expectKeep: ['a', 'c'],
    expectReasons: { a: [NEWEST, 'keep_last 1/2'], b: ['superseded failed backup'], c: ['keep_last 2/2'], d: ['no keep rule matched'] },
  },
  {
    name: 'keep_hourly keeps the newest point of each hour',
    points: [g('a', '2026-02-14T13:50'), g('b', '2026-02-14T13:10'), g('c', '2026-02-14T12:59'), g('d', '2026-02-14T10:00')],
    rules: { keepHourly: 2 },
    expectKeep: ['a', 'c'],
    expectReasons: { a: [NEWEST, 'keep_hourly 2026-02-14T13'], c: ['keep_hourly 2026-02-14T12'] },
  },
  {
    name: 'keep_daily: days without a backup do not count',
    points: [g('a', '2026-02-14T22:00'), g('b', '2026-02-14T02:00'), g('c', '2026-02-12T10:00'), g('d', '2026-02-09T10:00'), g('e', '2026-02-08T10:00')],
    rules: { keepDaily: 3 },
    expectKeep: ['a', 'c', 'd'],
    expectReasons: { c: ['keep_daily 2026-02-12'], d: ['keep_daily 2026-02-09'] },
  },
  {
    name: 'keep_weekly: 2026-W53 spans the new year',
    points: [g('a', '2027-01-04T10:00'), g('b', '2027-01-01T10:00'), g('c', '2026-12-31T10:00'), g('d', '2026-12-27T10:00')],
    rules: { keepWeekly: 3 },
    expectKeep: ['a', 'b', 'd'],
    expectReasons: { a: [NEWEST, 'keep_weekly 2027-W01'], b: ['keep_weekly 2026-W53'], d: ['keep_weekly 2026-W52'] },
  },
  {
    name: 'keep_weekly: a late-December Monday can be week 1 of the next ISO year',
    points: [g('a', '2025-12-29T10:00'), g('b', '2025-12-28T10:00')],
    rules: { keepWeekly: 2 },
    expectKeep: ['a', 'b'],
    expectReasons: { a: [NEWEST, 'keep_weekly 2026-W01'], b: ['keep_weekly 2025-W52'] },
  },
  {
    name: 'keep_monthly in UTC',
    points: [g('a', '2026-03-01T03:00'), g('b', '2026-02-28T12:00'), g('c', '2026-01-15T12:00')],
    rules: { keepMonthly: 2 },
    expectKeep: ['a', 'b'],
    expectReasons: { a: [NEWEST, 'keep_monthly 2026-03'], b: ['keep_monthly 2026-02'] },
  },
  {
    name: 'keep_monthly in America/New_York: 03:00Z on Mar 1 is still February',
    points: [g('a', '2026-03-01T03:00'), g('b', '2026-02-28T12:00'), g('c', '2026-01-15T12:00')],
    rules: { keepMonthly: 2 },
    timeZone: 'America/New_York',
    expectKeep: ['a', 'c'],
    expectReasons: { a: [NEWEST, 'keep_monthly 2026-02'], b: ['no keep rule matched'], c: ['keep_monthly 2026-01'] },
  },
  {
    name: 'keep_daily honours the offset of the time stamp and the zone',
    points: [g('a', '2026-02-15T01:00:00+01:00'), g('b', '2026-02-14T12:00')],
    rules: { keepDaily: 2 },
    timeZone: 'Europe/Berlin',
    expectKeep: ['a', 'b'],
    expectReasons: { a: [NEWEST, 'keep_daily 2026-02-15'], b: ['keep_daily 2026-02-14'] },
  },
  {
    name: 'keep_yearly with gap years',
    points: [g('a', '2026-06-01T00:00'), g('b', '2026-01-01T00:00'), g('c', '2023-05-01T00:00'), g('d', '2020-05-01T00:00')],
    rules: { keepYearly: 2 },
    expectKeep: ['a', 'c'],
    expectReasons: { a: [NEWEST, 'keep_yearly 2026'], c: ['keep_yearly 2023'] },
  },
  {
    name: 'keep_within 8w is measured from the newest good point (strictly within)',
    points: [g('a', '2026-02-14T00:00'), g('b', '2026-01-01T00:00'), failed('f', '2025-12-30T00:00'), g('c', '2025-12-21T00:00'), g('d', '2025-12-20T00:00')],
    rules: { keepWithin: '8w' },
    expectKeep: ['a', 'b', 'c'],
    expectReasons: { a: [NEWEST, 'keep_within 8w'], b: ['keep_within 8w'], f: ['superseded failed backup'], d: ['no keep rule matched'] },
  },
  {
    name: 'combined rules list every reason',
    points: [g('a', '2026-02-14T20:00'), g('b', '2026-02-14T08:00'), g('c', '2026-02-13T08:00'), g('d', '2026-02-02T08:00'), g('e', '2026-01-20T08:00')],
    rules: { keepLast: 2, keepDaily: 2, keepWeekly: 2, keepMonthly: 2 },
    expectKeep: ['a', 'b', 'c', 'd', 'e'],
    expectReasons: {
      a: [NEWEST, 'keep_last 1/2', 'keep_daily 2026-02-14', 'keep_weekly 2026-W07', 'keep_monthly 2026-02'],
      b: ['keep_last 2/2'],
      c: ['keep_daily 2026-02-13'],
      d: ['keep_weekly 2026-W06'],
      e: ['keep_monthly 2026-01'],
    },
  },
  {
    name: 'safety 1: newest good kept even when every rule is zero',
    points: [g('a', '2026-02-14T00:00')],
    rules: { keepLast: 0 },
    expectKeep: ['a'],
    expectReasons: { a: [NEWEST] },
  },
  {
    name: 'safety 2: no good point at all holds pruning',
    points: [failed('a', '2026-02-14T00:00'), unverified('b', '2026-02-13T00:00'), badVerify('c', '2026-02-12T00:00')],
    rules: { keepLast: 1 },
    expectKeep: ['a', 'b', 'c'],
    expectReasons: { a: ['no verified-good point: pruning held'], c: ['no verified-good point: pruning held'] },
  },
  {
    name: 'safety 3: newest backup failed holds everything, keeping rule reasons',
    points: [failed('x', '2026-03-30T00:00'), g('a', '2026-02-14T00:00'), g('b', '2026-02-13T12:00'), g('c', '2026-01-01T00:00'), unverified('u', '2025-12-01T00:00')],
    rules: { keepWithin: '1d' },
    expectKeep: ['x', 'a', 'b', 'c', 'u'],
    expectReasons: {
      x: [HELD, 'newer than newest verified-good point'],
      a: [HELD, NEWEST, 'keep_within 1d'],
      b: [HELD, 'keep_within 1d'],
      c: [HELD],
      u: [HELD],
    },
  },
  {
    name: 'safety 3: newest backup failed verification holds everything',
    points: [g('a', '2026-02-13T00:00'), badVerify('x', '2026-02-14T00:00'), g('b', '2026-02-12T00:00')],
    rules: {},
    expectKeep: ['a', 'x', 'b'],
  },
  {
    name: 'safety 3: newest backup not yet verified holds everything',
    points: [unverified('x', '2026-02-14T00:00'), g('a', '2026-02-13T00:00'), g('b', '2026-02-12T00:00')],
    rules: { keepLast: 1 },
    expectKeep: ['x', 'a', 'b'],
  },
  {
    name: 'safety 4/5: older non-good points are pruned with a reason saying why',
    points: [g('a', '2026-02-14T00:00'), failed('f', '2026-02-13T00:00'), badVerify('v', '2026-02-12T00:00'), unverified('u', '2026-02-11T00:00'), g('b', '2026-02-10T00:00')],
    rules: { keepDaily: 7 },
    expectKeep: ['a', 'b'],
    expectReasons: { f: ['superseded failed backup'], v: ['failed verification'], u: ['superseded unverified backup'], b: ['keep_daily 2026-02-10'] },
  },
  {
    name: 'same time: the higher id counts as newer',
    points: [g('a', '2026-02-14T00:00'), g('b', '2026-02-14T00:00')],
    rules: { keepLast: 1 },
    expectKeep: ['b'],
    expectReasons: { b: [NEWEST, 'keep_last 1/1'], a: ['no keep rule matched'] },
  },
  {
    name: 'unparseable or offset-less time holds pruning',
    points: [g('a', '2026-02-14T00:00'), { id: 'b', time: '2026-02-13T00:00:00', status: 'ok', verify: 'ok' }],
    rules: {},
    expectKeep: ['a', 'b'],
    expectReasons: { a: ['unparseable time "2026-02-13T00:00:00" on b: pruning held'] },
  },
  {
    name: 'invalid keep_within holds pruning',
    points: [g('a', '2026-02-14T00:00'), g('b', '2026-02-13T00:00')],
    rules: { keepWithin: '8 weeks' },
    expectKeep: ['a', 'b'],
    expectReasons: { b: ['invalid keep_within "8 weeks": pruning held'] },
  },
  {
    name: 'negative count holds pruning',
    points: [g('a', '2026-02-14T00:00'), g('b', '2026-02-13T00:00')],
    rules: { keepDaily: -1 },
    expectKeep: ['a', 'b'],
    expectReasons: { b: ['invalid keep_daily -1: pruning held'] },
  },
  {
    name: 'unknown time zone holds pruning',
    points: [g('a', '2026-02-14T00:00'), g('b', '2026-02-13T00:00')],
    rules: {},
    timeZone: 'Mars/Olympus',
    expectKeep: ['a', 'b'],
    expectReasons: { a: ['invalid time zone "Mars/Olympus": pruning held'] },
  },
];

describe('decideRetention (table)', () => {
  for (const c of cases) {
    test(c.name, () => {
      const opts = { now: '2030-01-01T00:00:00Z', ...(c.timeZone === undefined ? {} : { timeZone: c.timeZone }) };
      const out = decideRetention(c.points, c.rules, opts);
      assert.deepEqual(out.map((d) => d.id), c.points.map((p) => p.id), 'one decision per point, input order');
      for (const d of out) assert.ok(d.reasons.length > 0, `${d.id} has reasons`);
      assert.deepEqual(out.filter((d) => d.action === 'keep').map((d) => d.id).sort(), [...c.expectKeep].sort());
      for (const [id, reasons] of Object.entries(c.expectReasons ?? {})) {
        assert.deepEqual(out.find((d) => d.id === id)?.reasons, reasons, `reasons of ${id}`);
      }
    });
  }
});

describe('parseDuration', () => {
  const D = 86_400_000;
  const ok: [string, number][] = [['8w', 56 * D], ['30d', 30 * D], ['12h', 12 * 3_600_000], ['1y2m', 365 * D + 60 * D], ['2d1y', 367 * D], ['0d', 0]];
  for (const [s, ms] of ok) test(`${s} = ${ms}ms`, () => assert.deepEqual(parseDuration(s), { ms }));
  for (const s of ['', '8', 'w', '8 w', '1.5d', '-1d', '3s', '1d1d', '8W', '99999999999999y']) {
    test(`rejects ${JSON.stringify(s)}`, () => assert.ok('error' in parseDuration(s)));
  }
});

describe('retentionKeepsSomething', () => {
  const table: [Retention, boolean][] = [
    [{}, false],
    [{ keepLast: 0, keepDaily: 0, keepWithin: '0h' }, false],
    [{ keepWithin: 'nonsense' }, false],
    [{ keepLast: 1 }, true],
    [{ keepYearly: 0, keepHourly: 2 }, true],
    [{ keepWithin: '1h' }, true],
  ];
  for (const [rules, want] of table) test(JSON.stringify(rules), () => assert.equal(retentionKeepsSomething(rules), want));
});
