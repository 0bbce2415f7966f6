import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunRecord } from '../../src/adapters/store/state-store.js';
import type { Diagnostic } from '../../src/core/model.js';
import { configAlertView, configRecoveredView, MAX_CONFIG_ERRORS } from '../../src/core/notify-config.js';
import { digestView, storageView } from '../../src/core/notify-digest.js';
import { capLines, formatBytes, formatDuration, formatTime, shortRev } from '../../src/core/notify-format.js';
import { classifyRun, failureView, previousRun, recoveryView, successView, warningView } from '../../src/core/notify-runs.js';
import type { FleetSummary, VmStatus } from '../../src/core/status-model.js';

const NOW = new Date('2026-02-08T23:00:00Z');
const TZ = 'America/New_York';

function run(p: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'backup-prod-db-01-1', kind: 'backup', vm: 'prod-db-01', hypervisor: 'hypervisor-01',
    started: '2026-02-07T17:00:00.000Z', finished: '2026-02-07T17:42:30.000Z', status: 'failed',
    error: 'pre-check failed: storage /mnt/backup has 3.1 GiB free, needs 40.0 GiB', warnings: [], pid: 42,
    steps: [{ name: 'lock', ok: true, ms: 2 }, { name: 'prechecks', ok: false, ms: 900, detail: 'storage' }], ...p,
  };
}

describe('notify-format', () => {
  it('sizes, durations, times in the configured zone', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(3 * 1024 ** 4), '3.0 TiB');
    assert.equal(formatDuration(42_000), '42s');
    assert.equal(formatDuration(150_000), '2m 30s');
    assert.equal(formatDuration(3 * 3600_000 + 12 * 60_000), '3h 12m');
    assert.equal(formatDuration(26 * 3600_000), '1d 2h 0m');
    assert.equal(formatTime('2026-02-07T17:42:30.000Z', TZ), '2026-02-07 12:42:30 EST');
    assert.equal(formatTime('2026-02-07T17:42:30.000Z', 'Not/AZone'), '2026-02-07 17:42:30 UTC');
    assert.deepEqual(capLines(['a', 'b', 'c'], 2), ['a', 'b', '… and 1 more']);
    assert.equal(shortRev('0123456789abcdef0123456789abcdef01234567'), '0123456789ab');
  });
});

describe('run views', () => {
  it('a failure carries VM, hypervisor, error, failed step and local time', () => {
    const v = failureView(run(), { now: NOW, timeZone: TZ });
    assert.equal(v.kind, 'failure');
    assert.equal(v.severity, 'error');
    assert.equal(v.title, 'Backup failed: prod-db-01 on hypervisor-01');
    assert.equal(v.error, run().error);
    assert.equal(v.time, '2026-02-07T17:42:30.000Z');
    const f = Object.fromEntries(v.fields.map((x) => [x.label, x.value]));
    assert.equal(f.VM, 'prod-db-01');
    assert.equal(f.Hypervisor, 'hypervisor-01');
    assert.equal(f.Time, '2026-02-07 12:42:30 EST');
    assert.equal(f.Duration, '42m');
    assert.equal(f['Failed step'], 'prechecks');
    assert.equal(v.data.failedStep, 'prechecks');
  });

  it('an interrupted run without an error still says why', () => {
    const v = failureView(run({ status: 'interrupted', error: undefined, finished: undefined }), { now: NOW });
    assert.equal(v.error, 'the run was interrupted');
    assert.equal(v.time, NOW.toISOString());
  });

  it('classifies against the previous run of the same VM and kind', () => {
    const failed = run({ id: 'a', started: '2026-01-31T17:00:00Z' });
    const ok = run({ id: 'b', status: 'ok', error: undefined });
    assert.equal(classifyRun(ok, failed), 'recovery');
    assert.equal(classifyRun(ok, { ...failed, status: 'ok' }), 'success');
    assert.equal(classifyRun(ok), 'success');
    assert.equal(classifyRun({ ...ok, warnings: ['crash-consistent'] }), 'warning');
    assert.equal(classifyRun(failed, ok), 'failure');
    const others = [
      failed, ok,
      run({ id: 'c', vm: 'other', started: '2026-02-01T00:00:00Z' }),
      run({ id: 'd', kind: 'verify', started: '2026-02-01T00:00:00Z' }),
      run({ id: 'e', status: 'running', started: '2026-02-02T00:00:00Z' }),
      run({ id: 'f', started: '2026-02-09T00:00:00Z' }),
    ];
    assert.equal(previousRun(others, ok)?.id, 'a');
  });

  it('recovery, warning and success views', () => {
    const prev = run({ id: 'a', finished: '2026-01-31T17:10:00Z' });
    const r = recoveryView(run({ status: 'ok', error: undefined, sizeBytes: 10 * 1024 ** 3 }), prev, { now: NOW, timeZone: TZ });
    assert.equal(r.kind, 'recovery');
    assert.equal(r.title, 'Recovered: prod-db-01 on hypervisor-01');
    assert.ok(r.fields.some((f) => f.label === 'Failing since' && f.value === '2026-01-31 12:10:00 EST'));
    assert.ok(r.fields.some((f) => f.label === 'Size' && f.value === '10.0 GiB'));
    assert.match(r.details ?? '', /previous error: pre-check failed/);
    const w = warningView(run({ status: 'ok', warnings: ['guest agent did not answer: crash-consistent'] }), { now: NOW });
    assert.equal(w.severity, 'warning');
    assert.equal(w.details, 'guest agent did not answer: crash-consistent');
    assert.equal(successView(run({ status: 'ok' }), { now: NOW }).title, 'Backup succeeded: prod-db-01');
  });
});

describe('config views', () => {
  const diag = (i: number, severity: Diagnostic['severity'] = 'error'): Diagnostic =>
    ({ code: 'VMB_X', severity, file: 'vms/prod.yaml', line: i, col: 5, message: `bad thing ${i}` });

  it('an alert lists errors as file:line:col: message, warnings left out, capped', () => {
    const errors = [diag(3), diag(4, 'warning'), ...Array.from({ length: 30 }, (_, i) => diag(10 + i)), 'policies.yaml:1:1: raw line'];
    const v = configAlertView({ revision: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef', reason: 'invalid', errors, appliedRevision: 'cafebabecafebabe' }, { now: NOW, timeZone: TZ });
    assert.equal(v.title, 'Config revision deadbeefdead not applied');
    assert.equal(v.data.errorCount, 32);
    const lines = v.sections[0]?.lines ?? [];
    assert.equal(lines.length, MAX_CONFIG_ERRORS + 1);
    assert.equal(lines[0], 'vms/prod.yaml:3:5: bad thing 3');
    assert.equal(lines.at(-1), '… and 7 more');
    assert.ok(!lines.some((l) => l.includes('bad thing 4')));
    assert.match(v.summary, /32 error\(s\); still running cafebabecafe/);
  });

  it('an untrusted revision and a recovered one', () => {
    const u = configAlertView({ revision: 'abc', reason: 'untrusted', errors: [] }, { now: NOW });
    assert.match(u.summary, /not trusted; nothing applied yet/);
    const r = configRecoveredView({ revision: 'good1', failedRevision: 'bad1', failedSince: '2026-02-08T10:00:00Z' }, { now: NOW, timeZone: TZ });
    assert.equal(r.kind, 'config-recovered');
    assert.equal(r.revision, 'good1');
    assert.match(r.summary, /after broken revision bad1/);
    assert.ok(r.fields.some((f) => f.label === 'Broken since' && f.value === '2026-02-08 05:00:00 EST'));
  });
});

function fleet(percent: number): { summary: FleetSummary; statuses: VmStatus[] } {
  const cond = (reason: string): VmStatus['conditions'] => [{ type: 'Ready', status: reason === 'BackupSucceeded' ? 'True' : 'False', reason, message: '', lastTransitionTime: '2026-02-07T00:00:00Z' }];
  const st = (vm: string, hv: string, reason: string, last?: VmStatus['last_backup']): VmStatus => ({
    vm, hypervisor: hv, observed: 'running', conditions: cond(reason), restore_points: reason === 'Overdue'
      ? [{ id: '2026-01-10-120000', time: '2026-01-10T17:00:00Z', status: 'ok', verify: 'ok', keep_reason: [] }] : [],
    history: [], ...(last ? { last_backup: last } : {}),
  });
  return {
    summary: {
      generated_at: NOW.toISOString(), last_applied_revision: 'abc123', last_attempt_errors: [],
      totals: { vms: 4, ready: 2, failed: 1, overdue: 1, unknown: 0, unprotected: 1, missing: 0 },
      unprotected: [{ hypervisor: 'hypervisor-05', vm: 'scratch-vm' }], missing: [],
      storage: { used_bytes: 85 * 1024 ** 4, total_bytes: 100 * 1024 ** 4, percent },
      backups_last_7d: { ok: 5, failed: 1, size_bytes: 512 * 1024 ** 3, duration_ms: 5 * 3600_000 + 30 * 60_000 },
    },
    statuses: [
      st('prod-db-01', 'hypervisor-01', 'BackupSucceeded', { time: '2026-02-07T17:00:00Z', status: 'ok', warnings: [] }),
      st('web-server-01', 'hypervisor-03', 'BackupSucceeded', { time: '2026-02-07T18:00:00Z', status: 'ok', warnings: [] }),
      st('asav-firewall-01', 'hypervisor-02', 'BackupFailed', { time: '2026-02-07T19:00:00Z', status: 'failed', warnings: [], error: 'blockcommit did not finish' }),
      st('file-server-01', 'hypervisor-04', 'Overdue'),
    ],
  };
}

describe('digest', () => {
  it('totals, size and duration, failed/overdue/unprotected lists and the storage alert above 80%', () => {
    const { summary, statuses } = fleet(85);
    const v = digestView(summary, statuses, { now: NOW, timeZone: TZ });
    const f = Object.fromEntries(v.fields.map((x) => [x.label, x.value]));
    assert.equal(f['Total VMs'], '4');
    assert.equal(f['Backups succeeded (7d)'], '5');
    assert.equal(f['Backups failed (7d)'], '1');
    assert.equal(f['Total size (7d)'], '512.0 GiB');
    assert.equal(f['Total duration (7d)'], '5h 30m');
    assert.equal(f.Overdue, '1');
    assert.equal(f.Storage, '85.0 TiB of 100.0 TiB (85%)');
    assert.equal(v.fields.length, 10);
    assert.deepEqual(v.sections.map((s) => s.title), ['Failed (1)', 'Overdue (1)', 'Unprotected (1)']);
    assert.deepEqual(v.sections[0]?.lines, ['asav-firewall-01 (hypervisor-02): blockcommit did not finish']);
    assert.deepEqual(v.sections[1]?.lines, ['file-server-01 (hypervisor-04): last good backup 2026-01-10 12:00:00 EST']);
    assert.deepEqual(v.sections[2]?.lines, ['scratch-vm (hypervisor-05)']);
    assert.equal(v.data.storageAlert, true);
    assert.match(v.details ?? '', /Backup storage is 85% full \(above 80%\)/);
    assert.equal(v.severity, 'error');
    assert.match(v.summary, /4 VMs: 2 ready, 1 failed, 1 overdue\. Last 7 days: 5 backups succeeded, 1 failed, 512\.0 GiB in 5h 30m/);
  });

  it('no storage alert at exactly 80%; config errors get a section', () => {
    const { summary, statuses } = fleet(80);
    const v = digestView({ ...summary, last_attempted_revision: 'bad999', last_attempt_errors: ['a.yaml:1:1: x'] }, statuses, { now: NOW });
    assert.equal(v.data.storageAlert, false);
    assert.equal(v.details, undefined);
    assert.deepEqual(v.sections.at(-1), { title: 'Config not applied', lines: ['revision bad999:', 'a.yaml:1:1: x'] });
    assert.equal(storageView(summary, { now: NOW }), undefined);
    const s = storageView(fleet(91).summary, { now: NOW });
    assert.equal(s?.kind, 'storage');
    assert.equal(s?.title, 'Backup storage 91% full');
  });
});
