// The web calendar agrees with status/README.md's: same days, same labels, same outcome icons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calendarCells, calendarHeader } from '../../src/core/console/calendar.js';
import { CALENDAR_ICON, renderReadme } from '../../src/core/status-readme.js';
import { vmStatus } from '../web/fake-console.js';

const NOW = '2026-12-03T23:30:00Z';

test('30 cells ending today in the zone, oldest first, outcome → class and the README icon', () => {
  const history = [{ day: '2026-12-04', outcome: 'ok' as const }, { day: '2026-12-03', outcome: 'failed' as const }, { day: '2026-11-20', outcome: 'warning' as const }];
  const utc = calendarCells(history, NOW, 'UTC');
  assert.equal(utc.length, 30);
  assert.equal(utc[0]!.day, '2026-11-04');
  assert.equal(utc[29]!.day, '2026-12-03');
  assert.deepEqual(utc[29], { day: '2026-12-03', label: '3', outcome: 'failed', icon: CALENDAR_ICON.failed, cls: 'cal-failed', title: '2026-12-03: backup failed' });
  assert.equal(utc.find((c) => c.day === '2026-11-20')!.cls, 'cal-warning');
  assert.equal(utc.filter((c) => c.outcome === 'none').length, 28);
  // In Berlin it is already Dec 4: the window moves by a day, as the README's does.
  const berlin = calendarCells(history, NOW, 'Europe/Berlin');
  assert.equal(berlin[29]!.day, '2026-12-04');
  assert.equal(berlin[29]!.cls, 'cal-ok');
  assert.equal(calendarHeader(NOW, 'UTC')[0]!.label, 'Nov 4');
  assert.equal(calendarHeader(NOW, 'UTC').find((d) => d.day === '2026-12-01')!.label, 'Dec 1');
});

test('the cells carry exactly the icons of the README row for the same VM', () => {
  const s = vmStatus('web1', 'hv1');
  const readme = renderReadme([s], { generated_at: NOW, last_attempt_errors: [], totals: { vms: 1, ready: 1, failed: 0, overdue: 0, unknown: 0, unprotected: 0, missing: 0 }, unprotected: [], missing: [], backups_last_7d: { ok: 0, failed: 0, size_bytes: 0, duration_ms: 0 } }, NOW, { timeZone: 'UTC', days: 30 });
  const row = readme.split('\n').find((l) => l.startsWith('| web1 |'))!;
  const icons = row.split(' | ').slice(4).map((c) => c.replace(/ \|$/, '').trim());
  assert.deepEqual(calendarCells(s.history, NOW, 'UTC').map((c) => c.icon), icons);
});
