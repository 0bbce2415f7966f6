// Next runs across a daylight-saving change: what Bacula and cronie each do (see schedule-runs.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SchedulerKind } from '../../src/core/model.js';
import { nextRuns } from '../../src/core/schedule.js';
import { ok } from '../helpers/schedule.js';


const NY = 'America/New_York';
const BER = 'Europe/Berlin';
const table: { what: string; spec: string; from: string; tz: string; scheduler: SchedulerKind; want: string[] }[] = [
  // New York 2027-03-14: 02:00 EST → 03:00 EDT (07:00Z); 02:30 does not exist.
  { what: 'gap, Bacula skips', spec: '30 2 * * *', from: '2027-03-13T12:00:00Z', tz: NY, scheduler: 'bacula', want: ['2027-03-15T06:30:00.000Z'] },
  { what: 'gap, cron runs at the change', spec: '30 2 * * *', from: '2027-03-13T12:00:00Z', tz: NY, scheduler: 'cron', want: ['2027-03-14T07:00:00.000Z', '2027-03-15T06:30:00.000Z'] },
  { what: 'gap, cron wildcard minute skips', spec: '*/30 2 * * *', from: '2027-03-13T12:00:00Z', tz: NY, scheduler: 'cron', want: ['2027-03-15T06:00:00.000Z'] },
  { what: 'before the gap, unchanged', spec: '30 1 * * *', from: '2027-03-13T12:00:00Z', tz: NY, scheduler: 'bacula', want: ['2027-03-14T06:30:00.000Z', '2027-03-15T05:30:00.000Z'] },
  // New York 2027-11-07: 02:00 EDT → 01:00 EST; 01:30 happens at 05:30Z and 06:30Z.
  { what: 'overlap, Bacula runs twice', spec: '30 1 * * *', from: '2027-11-06T12:00:00Z', tz: NY, scheduler: 'bacula', want: ['2027-11-07T05:30:00.000Z', '2027-11-07T06:30:00.000Z', '2027-11-08T06:30:00.000Z'] },
  { what: 'overlap, cron runs once', spec: '30 1 * * *', from: '2027-11-06T12:00:00Z', tz: NY, scheduler: 'cron', want: ['2027-11-07T05:30:00.000Z', '2027-11-08T06:30:00.000Z'] },
  { what: 'overlap, cron wildcard runs twice', spec: '*/30 1 7 11 *', from: '2027-11-06T12:00:00Z', tz: NY, scheduler: 'cron', want: ['2027-11-07T05:00:00.000Z', '2027-11-07T05:30:00.000Z', '2027-11-07T06:00:00.000Z', '2027-11-07T06:30:00.000Z'] },
  { what: 'from inside the overlap, Bacula still has the second', spec: '30 1 * * *', from: '2027-11-07T05:45:00Z', tz: NY, scheduler: 'bacula', want: ['2027-11-07T06:30:00.000Z'] },
  // Berlin 2027-03-28: 02:00 CET → 03:00 CEST (01:00Z); 2027-10-31: 03:00 CEST → 02:00 CET.
  { what: 'Berlin gap, Bacula', spec: '15 2 * * *', from: '2027-03-27T12:00:00Z', tz: BER, scheduler: 'bacula', want: ['2027-03-29T00:15:00.000Z'] },
  { what: 'Berlin gap, cron', spec: '15 2 * * *', from: '2027-03-27T12:00:00Z', tz: BER, scheduler: 'cron', want: ['2027-03-28T01:00:00.000Z'] },
  { what: 'Berlin overlap, Bacula', spec: '15 2 * * *', from: '2027-10-30T12:00:00Z', tz: BER, scheduler: 'bacula', want: ['2027-10-31T00:15:00.000Z', '2027-10-31T01:15:00.000Z'] },
  { what: 'Berlin overlap, cron', spec: '15 2 * * *', from: '2027-10-30T12:00:00Z', tz: BER, scheduler: 'cron', want: ['2027-10-31T00:15:00.000Z', '2027-11-01T01:15:00.000Z'] },
  { what: 'daily word at noon is not affected', spec: 'daily', from: '2027-03-13T18:00:00Z', tz: NY, scheduler: 'bacula', want: ['2027-03-14T16:00:00.000Z'] },
];

describe('nextRuns across daylight-saving changes', () => {
  for (const t of table) {
    it(`${t.what}: ${t.spec} ${t.tz}`, () => {
      assert.deepEqual(nextRuns(ok(t.spec), t.from, t.want.length, t.tz, t.scheduler), t.want);
    });
  }
});
