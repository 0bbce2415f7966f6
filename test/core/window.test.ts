// Backup windows and blackouts (core/schedule/window.ts): open now or not, and the next start, table-tested.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWindowRules, rulesText, type WindowRules } from '../../src/core/schedule/window-rules.js';
import { nextAllowedStart, windowState } from '../../src/core/schedule/window.js';

type Raw = Record<string, unknown>;
function rules(window: Raw | undefined, ...blackout: Raw[]): WindowRules {
  const r = parseWindowRules(window, blackout.length ? blackout : undefined);
  assert.deepEqual(r.problems, []);
  return r.rules!;
}

const WEEKEND = { start: 'sat 12:00', duration: '30h' };
const NIGHT = { start: '22:00', duration: '8h' };
const BER = 'Europe/Berlin';
const UTC = 'UTC';

// [what, rules, now, zone, open, nextStart]
const table: [string, WindowRules, string, string, boolean, string | undefined][] = [
  ['weekly: exactly at the start is open', rules(WEEKEND), '2026-12-05T12:00:00Z', UTC, true, undefined],
  ['weekly: a minute before the start', rules(WEEKEND), '2026-12-05T11:59:00Z', UTC, false, '2026-12-05T12:00:00.000Z'],
  ['weekly: a minute before the end is open', rules(WEEKEND), '2026-12-06T17:59:00Z', UTC, true, undefined],
  ['weekly: exactly at the end is closed; next week', rules(WEEKEND), '2026-12-06T18:00:00Z', UTC, false, '2026-12-12T12:00:00.000Z'],
  ['weekly: mid-week', rules(WEEKEND), '2026-12-09T10:00:00Z', UTC, false, '2026-12-12T12:00:00.000Z'],
  ['weekday names may be written in full', rules({ start: 'Saturday 12:00', duration: '30h' }), '2026-12-05T13:00:00Z', UTC, true, undefined],
  ['daily: inside, same day', rules(NIGHT), '2026-12-09T23:00:00Z', UTC, true, undefined],
  ['daily: inside, after midnight', rules(NIGHT), '2026-12-10T05:59:00Z', UTC, true, undefined],
  ['daily: exactly at the end', rules(NIGHT), '2026-12-10T06:00:00Z', UTC, false, '2026-12-10T22:00:00.000Z'],
  ['daily: before the start', rules(NIGHT), '2026-12-10T21:00:00Z', UTC, false, '2026-12-10T22:00:00.000Z'],
  ['daily 24h: always open', rules({ start: '00:00', duration: '24h' }), '2026-12-10T13:37:00Z', UTC, true, undefined],
  ['blackout inside the window: before it, open', rules(WEEKEND, { start: '00:00', duration: '6h' }), '2026-12-05T23:00:00Z', UTC, true, undefined],
  ['blackout inside the window: in it, the window reopens at its end', rules(WEEKEND, { start: '00:00', duration: '6h' }), '2026-12-06T01:00:00Z', UTC, false, '2026-12-06T06:00:00.000Z'],
  ['date-range blackout over a whole window skips to the next window', rules(WEEKEND, { from: '2026-12-12', to: '2026-12-13' }), '2026-12-10T00:00:00Z', UTC, false, '2026-12-19T12:00:00.000Z'],
  ['in a date-range blackout inside the window', rules(WEEKEND, { from: '2026-12-12', to: '2026-12-13' }), '2026-12-12T13:00:00Z', UTC, false, '2026-12-19T12:00:00.000Z'],
  ['a one-day blackout cuts the first day of the window', rules(WEEKEND, { from: '2026-12-05', to: '2026-12-05' }), '2026-12-05T12:00:00Z', UTC, false, '2026-12-06T00:00:00.000Z'],
  ['blackout only: outside it, open', rules(undefined, { from: '2026-12-24', to: '2026-12-27' }), '2026-12-23T23:59:00Z', UTC, true, undefined],
  ['blackout only: its first minute', rules(undefined, { from: '2026-12-24', to: '2026-12-27' }), '2026-12-24T00:00:00Z', UTC, false, '2026-12-28T00:00:00.000Z'],
  ['blackout only: `to` is inclusive (last minute of the last day)', rules(undefined, { from: '2026-12-24', to: '2026-12-27' }), '2026-12-27T23:59:00Z', UTC, false, '2026-12-28T00:00:00.000Z'],
  ['blackout only: the day after `to`', rules(undefined, { from: '2026-12-24', to: '2026-12-27' }), '2026-12-28T00:00:00Z', UTC, true, undefined],
  ['daily blackout only', rules(undefined, { start: '08:00', duration: '10h' }), '2026-12-10T09:00:00Z', UTC, false, '2026-12-10T18:00:00.000Z'],
  ['two blackouts back to back', rules(undefined, { start: '08:00', duration: '10h' }, { start: '18:00', duration: '1h' }), '2026-12-10T09:00:00Z', UTC, false, '2026-12-10T19:00:00.000Z'],
  ['a blackout covering every window: never', rules(NIGHT, { start: '21:00', duration: '10h' }), '2026-12-10T09:00:00Z', UTC, false, undefined],
  ['a zone: the window is in local time', rules(WEEKEND), '2026-12-05T11:00:00Z', BER, true, undefined],
  ['a zone: a range blackout is local days', rules(undefined, { from: '2026-12-24', to: '2026-12-27' }), '2026-12-23T22:59:00Z', BER, true, undefined],
  ['a zone: a range blackout starts at local midnight', rules(undefined, { from: '2026-12-24', to: '2026-12-27' }), '2026-12-23T23:00:00Z', BER, false, '2026-12-27T23:00:00.000Z'],
  // Berlin 2027-03-28 (spring forward): 02:00 CET → 03:00 CEST at 01:00Z; 02:xx does not exist.
  ['spring forward: daily 01:00 for 3h ends at 04:00 CEST (2h real)', rules({ start: '01:00', duration: '3h' }), '2027-03-28T01:59:00Z', BER, true, undefined],
  ['spring forward: daily 01:00 for 3h is over at 02:00Z', rules({ start: '01:00', duration: '3h' }), '2027-03-28T02:00:00Z', BER, false, '2027-03-28T23:00:00.000Z'],
  ['spring forward: a start in the gap opens when the clock jumps', rules({ start: '02:30', duration: '2h' }), '2027-03-28T00:30:00Z', BER, false, '2027-03-28T01:00:00.000Z'],
  ['spring forward: weekend window, sat 12:00 CET to sun 18:00 CEST', rules(WEEKEND), '2027-03-28T15:59:00Z', BER, true, undefined],
  ['spring forward: weekend window over at sun 18:00 CEST', rules(WEEKEND), '2027-03-28T16:00:00Z', BER, false, '2027-04-03T10:00:00.000Z'],
  // Berlin 2026-10-25 (fall back): 03:00 CEST → 02:00 CET at 01:00Z; 02:xx happens twice.
  ['fall back: weekend window opens sat 12:00 CEST', rules(WEEKEND), '2026-10-24T09:59:00Z', BER, false, '2026-10-24T10:00:00.000Z'],
  ['fall back: weekend window still open at 17:59 CET', rules(WEEKEND), '2026-10-25T16:59:00Z', BER, true, undefined],
  ['fall back: weekend window over at sun 18:00 CET', rules(WEEKEND), '2026-10-25T17:00:00Z', BER, false, '2026-10-31T11:00:00.000Z'],
  ['fall back: a start in the repeated hour takes its first occurrence', rules({ start: '02:30', duration: '1h' }), '2026-10-25T00:30:00Z', BER, true, undefined],
  ['fall back: …and ends at 03:30 CET (2h real)', rules({ start: '02:30', duration: '1h' }), '2026-10-25T02:29:00Z', BER, true, undefined],
  ['fall back: …closed at 03:30 CET', rules({ start: '02:30', duration: '1h' }), '2026-10-25T02:30:00Z', BER, false, '2026-10-26T01:30:00.000Z'],
  ['fall back: a blackout in the repeated hour', rules(undefined, { start: '02:00', duration: '1h' }), '2026-10-25T01:30:00Z', BER, false, '2026-10-25T02:00:00.000Z'],
];

describe('windowState', () => {
  for (const [what, r, now, tz, open, next] of table) {
    it(what, () => {
      const s = windowState(r, now, tz)!;
      assert.equal(s.open, open, `open at ${now}`);
      assert.equal(s.nextStart, next);
      assert.equal(s.text, rulesText(r));
    });
  }
  it('no rules: undefined', () => {
    assert.equal(windowState(undefined, '2026-12-05T12:00:00Z', UTC), undefined);
    assert.equal(windowState({ blackouts: [] }, '2026-12-05T12:00:00Z', UTC), undefined);
  });
  it('says the rules in words', () => {
    assert.equal(windowState(rules(WEEKEND, { from: '2026-12-24', to: '2026-12-27' }, { from: '2027-01-01', to: '2027-01-01' }, { start: '01:00', duration: '2h' }), '2026-12-05T12:00:00Z', UTC)!.text,
      'window sat 12:00 for 30h; blackout 2026-12-24..2026-12-27; blackout 2027-01-01; blackout daily 01:00 for 2h');
  });
  it('nextAllowedStart from a later time (a retry): the later of the retry and the window', () => {
    assert.equal(nextAllowedStart(rules(WEEKEND), '2026-12-06T17:00:00Z', UTC), '2026-12-06T17:00:00.000Z');
    assert.equal(nextAllowedStart(rules(WEEKEND), '2026-12-06T18:30:00Z', UTC), '2026-12-12T12:00:00.000Z');
    assert.equal(nextAllowedStart(undefined, '2026-12-06T18:30:00Z', UTC), '2026-12-06T18:30:00.000Z');
  });
});

describe('parseWindowRules: nonsense is refused at its field', () => {
  const bad: [string, unknown, unknown, string, (string | number)[], RegExp][] = [
    ['daily window longer than a day', { start: '22:00', duration: '25h' }, undefined, 'window', ['duration'], /longer than its period .*at most 24h/],
    ['weekly window longer than a week', { start: 'sat 12:00', duration: '8d' }, undefined, 'window', ['duration'], /at most 7d/],
    ['zero duration', { start: '22:00', duration: '0h' }, undefined, 'window', ['duration'], /longer than 0/],
    ['no duration', { start: '22:00' }, undefined, 'window', ['duration'], /required/],
    ['bad duration', { start: '22:00', duration: '8 hours' }, undefined, 'window', ['duration'], /invalid duration/],
    ['hour 25', { start: 'fri 25:00', duration: '2h' }, undefined, 'window', ['start'], /expected "HH:MM"/],
    ['unknown weekday', { start: 'someday 12:00', duration: '2h' }, undefined, 'window', ['start'], /weekday/],
    ['range to before from', undefined, [{ from: '2026-12-27', to: '2026-12-24' }], 'blackout', [0, 'to'], /before its from/],
    ['impossible date', undefined, [{ from: '2026-02-30', to: '2026-03-01' }], 'blackout', [0, 'from'], /calendar date/],
    ['range without to', undefined, [{ from: '2026-12-24' }], 'blackout', [0, 'to'], /calendar date/],
    ['recurring blackout too long', undefined, [{ start: '01:00', duration: '2h' }, { start: '01:00', duration: '2d' }], 'blackout', [1, 'duration'], /blackout\[1\]\.duration/],
  ];
  for (const [what, w, b, field, path, re] of bad) {
    it(what, () => {
      const r = parseWindowRules(w, b);
      assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
      assert.equal(r.problems[0]!.field, field);
      assert.deepEqual(r.problems[0]!.problem.path, path);
      assert.match(r.problems[0]!.problem.message, re);
    });
  }
});
