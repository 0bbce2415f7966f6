// Regression: a day-of-month list holding a day February lacks must not skip early-March days
// (croner 9 predicted 2027-03-15 from 2027-02-20 for `1,15,31`; Bacula runs 2027-03-01).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRuns } from '../../src/core/schedule.js';
import { ok } from '../helpers/schedule.js';


// Expected dates are the calendar days Bacula's `on 1 15 31 at 02:00`-style Run lines select
// (every day whose day-of-month is in the list, months without that day simply lack it).
const table: { spec: string; from: string; tz: string; want: string[] }[] = [
  { spec: '0 2 1,15,31 * *', from: '2027-02-20T00:00:00Z', tz: 'UTC', want: ['2027-03-01T02:00:00.000Z', '2027-03-15T02:00:00.000Z', '2027-03-31T02:00:00.000Z'] },
  { spec: '0 2 1-31/10 * *', from: '2027-02-20T00:00:00Z', tz: 'UTC', want: ['2027-02-21T02:00:00.000Z', '2027-03-01T02:00:00.000Z', '2027-03-11T02:00:00.000Z'] },
  { spec: '0 2 */15 * *', from: '2027-02-20T00:00:00Z', tz: 'UTC', want: ['2027-03-01T02:00:00.000Z', '2027-03-16T02:00:00.000Z', '2027-03-31T02:00:00.000Z'] },
  { spec: '0 2 1,30 * *', from: '2027-02-20T00:00:00Z', tz: 'UTC', want: ['2027-03-01T02:00:00.000Z', '2027-03-30T02:00:00.000Z', '2027-04-01T02:00:00.000Z'] },
  // Leap year: 29 February exists, 30/31 do not.
  { spec: '0 2 1,30 * *', from: '2028-02-20T00:00:00Z', tz: 'UTC', want: ['2028-03-01T02:00:00.000Z', '2028-03-30T02:00:00.000Z', '2028-04-01T02:00:00.000Z'] },
  // A zone: 12:00 New York is 17:00Z before and 16:00Z after the 2027-03-14 change.
  { spec: '0 12 1,15,31 * *', from: '2027-02-20T00:00:00Z', tz: 'America/New_York', want: ['2027-03-01T17:00:00.000Z', '2027-03-15T16:00:00.000Z', '2027-03-31T16:00:00.000Z'] },
  // April lacks the 31st too.
  { spec: '0 2 31 * *', from: '2027-03-31T03:00:00Z', tz: 'UTC', want: ['2027-05-31T02:00:00.000Z', '2027-07-31T02:00:00.000Z'] },
  { spec: '0 2 1,31 * *', from: '2027-04-20T00:00:00Z', tz: 'Europe/Berlin', want: ['2027-05-01T00:00:00.000Z', '2027-05-31T00:00:00.000Z'] },
];

describe('nextRuns with day-of-month lists and short months', () => {
  for (const t of table) {
    for (const scheduler of ['bacula', 'cron'] as const) {
      it(`${t.spec} from ${t.from} in ${t.tz} (${scheduler})`, () => {
        assert.deepEqual(nextRuns(ok(t.spec), t.from, t.want.length, t.tz, scheduler), t.want);
      });
    }
  }
});
