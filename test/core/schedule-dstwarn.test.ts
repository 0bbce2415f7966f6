// `validate` warns (VMB_SCHEDULE_DST) about a schedule time in a daylight-saving gap or overlap of
// settings.time_zone, saying what the scheduler in use then does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, loadPolicyRepo } from '../../src/core/load.js';
import type { SchedulerKind } from '../../src/core/model.js';
import { scheduleDstNotes, zoneTransitions } from '../../src/core/schedule-dst.js';
import { ok } from '../helpers/schedule.js';


const NY = 'America/New_York';
const BER = 'Europe/Berlin';
const table: { spec: string; tz: string; scheduler: SchedulerKind; want: RegExp[] }[] = [
  { spec: '30 2 * * *', tz: NY, scheduler: 'bacula', want: [/^runs at 02:30 on 2026-03-08, a time that does not exist in America\/New_York .*: Bacula skips that run; move it out of 02:00-03:00$/] },
  { spec: '30 2 * * *', tz: NY, scheduler: 'cron', want: [/cron runs it once right after the clocks jump/] },
  { spec: '30 1 * * *', tz: NY, scheduler: 'bacula', want: [/^runs at 01:30 on 2026-11-01, a time that happens twice in America\/New_York .*: Bacula runs it twice; move it out of 01:00-02:00$/] },
  { spec: '30 1 * * *', tz: NY, scheduler: 'cron', want: [/cron runs it once;/] },
  { spec: '*/30 1 * * *', tz: NY, scheduler: 'cron', want: [/cron runs it at both occurrences/] },
  // Berlin: 02:00-03:00 is skipped in March and repeated in October, so 02:15 hits both.
  { spec: '15 2 * * *', tz: BER, scheduler: 'bacula', want: [/2026-03-29, a time that does not exist in Europe\/Berlin/, /2026-10-25, a time that happens twice in Europe\/Berlin/] },
  // Saturday never is a change day in these zones; noon never is a change time.
  { spec: '30 2 * * 6', tz: NY, scheduler: 'bacula', want: [] },
  { spec: 'daily', tz: NY, scheduler: 'bacula', want: [] },
  { spec: '30 2 * * *', tz: 'UTC', scheduler: 'bacula', want: [] },
  // The 14th of March is a change day in New York only some years (2027).
  { spec: '30 2 14 3 *', tz: NY, scheduler: 'bacula', want: [/2027-03-14/] },
];

describe('scheduleDstNotes', () => {
  for (const t of table) {
    it(`${t.spec} in ${t.tz} (${t.scheduler})`, () => {
      const notes = scheduleDstNotes(ok(t.spec), t.tz, t.scheduler);
      assert.equal(notes.length, t.want.length, notes.join('\n'));
      t.want.forEach((re, i) => assert.match(notes[i]!, re));
    });
  }
  it('finds New York 2027 changes to the minute', () => {
    const ts = zoneTransitions(NY).filter((t) => new Date(t.at).getUTCFullYear() === 2027);
    assert.deepEqual(ts.map((t) => new Date(t.at).toISOString()), ['2027-03-14T07:00:00.000Z', '2027-11-07T06:00:00.000Z']);
  });
});

describe('validate: VMB_SCHEDULE_DST', () => {
  const files = (tz: string, schedule: string) => [
    { path: 'settings.yaml', text: `settings:\n  time_zone: ${tz}\n` },
    { path: 'vms.yaml', text: `hypervisors:\n  - name: hv1\nvms:\n  - name: db-01\n    hypervisor: hv1\n    schedule: "${schedule}"\n    retention: { keep_last: 3 }\n` },
  ];
  it('warns with the file position and stays valid', () => {
    const r = loadPolicyRepo(files(NY, '30 2 * * *'));
    assert.equal(r.ok, true, r.diagnostics.map(formatDiagnostic).join('\n'));
    const d = r.diagnostics.filter((x) => x.code === 'VMB_SCHEDULE_DST');
    assert.equal(d.length, 1, r.diagnostics.map(formatDiagnostic).join('\n'));
    assert.equal(d[0]!.severity, 'warning');
    assert.match(formatDiagnostic(d[0]!), /^vms\.yaml:\d+:\d+: warning: schedule "30 2 \* \* \*" runs at 02:30 on 2026-03-08, .*Bacula skips that run.*\[VMB_SCHEDULE_DST\]$/);
  });
  it('says nothing for a time clear of the changes', () => {
    const r = loadPolicyRepo(files(NY, '30 4 * * *'));
    assert.deepEqual(r.diagnostics.filter((x) => x.code === 'VMB_SCHEDULE_DST'), []);
  });
});
