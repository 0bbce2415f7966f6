// The one documented biweekly difference (README "Schedules"): Saturday 2033-01-01 (ISO 2032-W53)
// runs under Bacula (`w00 jan 1 sat`) but not under cron or in predicted runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baculaRunLines, isoWeek, nextRuns } from '../../src/core/schedule.js';
import { ok } from '../helpers/schedule.js';


describe('biweekly around a 53-week year', () => {
  it('predicts W52 then W02 (three weeks) across 2032-W53', () => {
    assert.equal(isoWeek(2033, 1, 1), 53);
    assert.deepEqual(nextRuns(ok('biweekly'), '2032-12-20T00:00:00Z', 2, 'UTC'), ['2032-12-25T12:00:00.000Z', '2033-01-15T12:00:00.000Z']);
  });
  it('Bacula keeps Saturday 1 January by its w00 line', () => {
    const r = baculaRunLines(ok('biweekly'));
    assert.ok('lines' in r && r.lines.includes('w00 jan 1 sat at 12:00'));
  });
});
