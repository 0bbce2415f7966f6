import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { baculaRunLines, nextRuns, normalizeSchedule } from '../../src/core/schedule.js';
import type { Schedule } from '../../src/core/model.js';

const ok = (spec: string): Schedule => {
  const r = normalizeSchedule(spec);
  if ('error' in r) throw new Error(r.error);
  return r.schedule;
};

describe('schedule memoisation: same answers, independent results', () => {
  test('nextRuns: repeated calls agree and return fresh arrays', () => {
    const a = nextRuns(ok('biweekly'), '2026-12-01T06:00:00Z', 3, 'Europe/Berlin');
    a.push('mutated');
    const b = nextRuns(ok('biweekly'), '2026-12-01T06:00:00Z', 3, 'Europe/Berlin');
    assert.equal(b.length, 3);
    assert.deepEqual(b, nextRuns({ spec: 'other words', cron: '0 12 * * 6', filter: 'even-iso-week' }, '2026-12-01T06:00:00Z', 3, 'Europe/Berlin'));
  });

  test('nextRuns: every key part matters (cron, filter, from, count, zone)', () => {
    const base = nextRuns(ok('weekly'), '2026-12-01T06:00:00Z', 2, 'UTC');
    assert.notDeepEqual(nextRuns(ok('monthly'), '2026-12-01T06:00:00Z', 2, 'UTC'), base);
    assert.notDeepEqual(nextRuns(ok('daily'), '2026-12-01T06:00:00Z', 2, 'UTC'), base);
    assert.notDeepEqual(nextRuns(ok('weekly'), '2026-12-08T06:00:00Z', 2, 'UTC'), base);
    assert.equal(nextRuns(ok('weekly'), '2026-12-01T06:00:00Z', 3, 'UTC').length, 3);
    assert.notDeepEqual(nextRuns(ok('weekly'), '2026-12-01T06:00:00Z', 2, 'America/New_York'), base);
  });

  test('nextRuns: errors are not cached as results', () => {
    assert.throws(() => nextRuns({ spec: 'bad', cron: '61 * * * *' }, '2026-12-01T06:00:00Z', 1, 'UTC'), /schedule "bad"/);
    assert.throws(() => nextRuns({ spec: 'worse', cron: '61 * * * *' }, '2026-12-01T06:00:00Z', 1, 'UTC'), /schedule "worse"/);
  });

  test('baculaRunLines: repeated calls agree and return fresh objects', () => {
    const a = baculaRunLines(ok('0 */6 * * *'));
    assert.ok('lines' in a);
    a.lines.push('mutated');
    assert.deepEqual(baculaRunLines(ok('0 */6 * * *')), { lines: ['daily at 00:00', 'daily at 06:00', 'daily at 12:00', 'daily at 18:00'] });
    assert.deepEqual(baculaRunLines({ spec: 'x', cron: '0 3 * * 1-5', filter: 'first-week-of-month' }), { lines: ['1st mon-fri at 03:00'] });
    assert.deepEqual(baculaRunLines({ spec: 'x', cron: '0 3 * * 1-5' }), { lines: ['mon-fri at 03:00'] });
  });
});
