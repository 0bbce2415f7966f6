import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import type { DayOutcome, FleetSummary, VmStatus } from '../../src/core/status-model.js';
import { renderStatusFiles, statusCommitMessage } from '../../src/core/status-render.js';
import { parseStatusRestorePoints } from '../../src/core/status-file.js';
import { addDays, dayWindow } from '../../src/core/status-format.js';

const NOW = '2026-02-14T23:30:00Z'; // 18:30 in New York: still Feb 14 there
const TZ = 'America/New_York';
const DAYS = dayWindow('2026-02-14', 30);

// Day i (0 = Jan 16) of each VM: a fixed pattern so every icon appears in known cells.
const PATTERN: Record<string, (i: number) => DayOutcome> = {
  'app-01': () => 'ok',
  'db-01': (i) => (i === 29 ? 'failed' : i % 7 === 0 ? 'warning' : 'ok'),
  'web-01': (i) => (i % 2 ? 'none' : 'ok'),
};

function vm(name: string, hypervisor: string, over: Partial<VmStatus> = {}): VmStatus {
  const pattern = PATTERN[name] ?? (() => 'none' as DayOutcome);
  return {
    vm: name,
    hypervisor,
    policy: 'standard',
    observed: 'running',
    conditions: [
      { type: 'Stalled', status: 'False', reason: 'Progressing', message: '', lastTransitionTime: '2026-02-01T00:00:00Z' },
      { type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'backup 2026-02-14-033000 ok', lastTransitionTime: '2026-02-10T03:40:00Z' },
    ],
    last_backup: { id: '2026-02-14-033000', time: '2026-02-14T03:30:00Z', status: 'ok', size_bytes: 21474836480, duration_ms: 754000, method: 'quiesce', consistency: 'application', warnings: [] },
    restore_points: [
      { id: '2026-02-07-033000', time: '2026-02-07T03:30:00Z', status: 'ok', verify: 'ok', size_bytes: 2048, keep_reason: ['keep_weekly 2026-W06'] },
      { id: '2026-02-14-033000', time: '2026-02-14T03:30:00Z', status: 'ok', verify: 'none', size_bytes: 4096, keep_reason: ['keep_last 1', 'keep_weekly 2026-W07'] },
    ],
    last_verify: { time: '2026-02-08T05:00:00Z', backup_id: '2026-02-07-033000', result: 'ok' },
    last_test_restore: { time: '2026-02-01T06:00:00Z', backup_id: '2026-01-31-033000', result: 'ok' },
    next_due: '2026-02-15T03:30:00Z',
    history: DAYS.map((day, i) => ({ day, outcome: pattern(i) })),
    ...over,
  };
}

const dbFailed: Partial<VmStatus> = {
  conditions: [{ type: 'Ready', status: 'False', reason: 'BackupFailed', message: 'qemu-img | convert failed\nexit 1', lastTransitionTime: '2026-02-14T03:45:00Z' }],
  last_backup: { time: '2026-02-14T03:30:00Z', status: 'failed', warnings: ['guest agent slow'], error: 'convert failed' },
};

function summary(over: Partial<FleetSummary> = {}): FleetSummary {
  return {
    generated_at: '2026-02-14T23:00:00Z',
    last_applied_revision: '0123456789abcdef0123456789abcdef01234567',
    last_attempt_errors: [],
    totals: { vms: 3, ready: 2, failed: 1, overdue: 0, unknown: 0, unprotected: 1, missing: 0 },
    unprotected: [{ hypervisor: 'hv-02', vm: 'stray' }],
    missing: [],
    backups_last_7d: { ok: 20, failed: 1, size_bytes: 1099511627776, duration_ms: 3_600_000 },
    ...over,
  };
}

const fleet = (): VmStatus[] => [vm('web-01', 'hv-02'), vm('db-01', 'hv-01', dbFailed), vm('app-01', 'hv-01')];

describe('renderStatusFiles', () => {
  test('one YAML file per VM, the summary and the README, in path order', () => {
    const { files, deletions } = renderStatusFiles(fleet(), summary(), NOW, { timeZone: TZ });
    assert.deepEqual([...files.keys()], ['status/README.md', 'status/summary.yaml', 'status/vms/app-01.yaml', 'status/vms/db-01.yaml', 'status/vms/web-01.yaml']);
    assert.deepEqual(deletions, []);
  });

  test('deterministic: input order does not matter and equal data gives equal bytes', () => {
    const a = renderStatusFiles(fleet(), summary(), NOW, { timeZone: TZ });
    const b = renderStatusFiles(fleet().reverse(), summary(), NOW, { timeZone: TZ });
    assert.deepEqual([...a.files], [...b.files]);
  });

  test('a VM file has conditions, last backup, restore points with keep reasons, verify, test-restore and next due, in a fixed key order', () => {
    const text = renderStatusFiles(fleet(), summary(), NOW).files.get('status/vms/app-01.yaml') ?? '';
    assert.match(text, /^# Written by vmbackup/);
    const doc = parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ['vm', 'hypervisor', 'policy', 'observed', 'conditions', 'last_backup', 'next_due', 'last_verify', 'last_test_restore', 'restore_points']);
    const conds = doc.conditions as Record<string, unknown>[];
    assert.deepEqual(conds.map((c) => c.type), ['Ready', 'Stalled'], 'Ready first');
    assert.equal(conds[0]?.status, 'True', 'the string "True", quoted, not a YAML boolean');
    assert.equal(conds[0]?.last_transition_time, '2026-02-10T03:40:00Z');
    const last = doc.last_backup as Record<string, unknown>;
    assert.equal(last.size, '20.0 GiB');
    assert.equal(last.duration, '12m 34s');
    assert.equal(last.method, 'quiesce');
    assert.deepEqual(last.warnings, []);
    const points = doc.restore_points as Record<string, unknown>[];
    assert.deepEqual(points.map((p) => p.id), ['2026-02-14-033000', '2026-02-07-033000'], 'newest first');
    assert.deepEqual(points[0]?.keep_reason, ['keep_last 1', 'keep_weekly 2026-W07']);
    assert.equal(doc.next_due, '2026-02-15T03:30:00Z');
  });

  test("plan's parseStatusRestorePoints reads the VM file back", () => {
    const text = renderStatusFiles(fleet(), summary(), NOW).files.get('status/vms/app-01.yaml') ?? '';
    const back = parseStatusRestorePoints(text);
    assert.equal(back.vm, 'app-01');
    assert.deepEqual(back.points, [
      { id: '2026-02-14-033000', time: '2026-02-14T03:30:00Z', status: 'ok', verify: 'none' },
      { id: '2026-02-07-033000', time: '2026-02-07T03:30:00Z', status: 'ok', verify: 'ok' },
    ]);
  });

  test('summary.yaml lists totals, the VMs that are not ready, unprotected and missing VMs', () => {
    const doc = parse(renderStatusFiles(fleet(), summary({ missing: ['old-02', 'old-01'], totals: { vms: 3, ready: 2, failed: 1, overdue: 0, unknown: 0, unprotected: 1, missing: 2 } }), NOW).files.get('status/summary.yaml') ?? '') as Record<string, unknown>;
    assert.deepEqual(doc.not_ready, [{ vm: 'db-01', status: 'False', reason: 'BackupFailed' }]);
    assert.deepEqual(doc.missing, ['old-01', 'old-02']);
    assert.deepEqual(Object.keys(doc.totals as object), ['vms', 'ready', 'failed', 'overdue', 'unknown', 'unprotected', 'missing']);
    assert.equal(doc.generated_at, '2026-02-14T23:00:00Z');
  });

  test('stale VM files are deleted, missing VMs keep theirs, other files are never deleted', () => {
    const existing = ['status/vms/app-01.yaml', 'status/vms/gone.yaml', 'status/vms/lost.yaml', 'status/notes.md', 'status/vms/readme.txt', 'vms.yaml'];
    const r = renderStatusFiles(fleet(), summary({ missing: ['lost'] }), NOW, { existing });
    assert.deepEqual(r.deletions, ['status/vms/gone.yaml']);
  });

  test('statusPath is honoured and must stay a relative directory', () => {
    const r = renderStatusFiles(fleet(), summary(), NOW, { statusPath: 'ops/status' });
    assert.ok([...r.files.keys()].every((p) => p.startsWith('ops/status/')));
    for (const bad of ['../status', '/status', 'status/..', '', '.git']) assert.throws(() => renderStatusFiles([], summary(), NOW, { statusPath: bad }), /invalid status path/);
  });

  test('a VM name that is not a safe path segment, or reported twice, is refused', () => {
    assert.throws(() => renderStatusFiles([vm('../etc', 'hv-01')], summary(), NOW), /invalid VM name/);
    assert.throws(() => renderStatusFiles([vm('a', 'hv-01'), vm('a', 'hv-02')], summary(), NOW), /reported twice/);
  });
});

describe('README calendar', () => {
  const readme = (): string => renderStatusFiles(fleet(), summary(), NOW, { timeZone: TZ }).files.get('status/README.md') ?? '';
  const row = (text: string, name: string): string[] => {
    const calendar = text.slice(text.indexOf('## Last 30 days'));
    const line = calendar.split('\n').find((l) => l.startsWith(`| ${name} |`)) ?? '';
    return line.split(' | ').map((c) => c.replace(/^\| |\|$/g, '').trim());
  };

  test('3 VMs × 30 days: one cell per day with ✅/❌/⚠️/·', () => {
    const text = readme();
    const app = row(text, 'app-01').slice(4);
    const db = row(text, 'db-01').slice(4);
    const web = row(text, 'web-01').slice(4);
    assert.equal(app.length, 30);
    assert.deepEqual(app, Array(30).fill('✅'));
    assert.deepEqual(db, DAYS.map((_, i) => (i === 29 ? '❌' : i % 7 === 0 ? '⚠️' : '✅')));
    assert.deepEqual(web, DAYS.map((_, i) => (i % 2 ? '·' : '✅')));
  });

  test('day columns are labelled by day of month with month markers; the window ends today in the time zone', () => {
    const header = readme().split('\n').find((l) => l.startsWith('| VM | Ready |')) ?? '';
    const labels = header.split(' | ').slice(4).map((c) => c.replace(/ \|$/, ''));
    assert.equal(labels.length, 30);
    assert.equal(labels[0], 'Jan 16');
    assert.equal(labels[1], '17');
    assert.equal(labels[16], 'Feb 1');
    assert.equal(labels[29], '14');
    assert.equal(addDays('2026-02-14', -29), '2026-01-16');
  });

  test('Ready with reason, last backup age, next due in local time, and a legend', () => {
    const text = readme();
    assert.deepEqual(row(text, 'app-01').slice(1, 4), ['yes: BackupSucceeded', 'yesterday', '2026-02-14 22:30'], '03:30Z is the evening before in New York');
    assert.deepEqual(row(text, 'db-01').slice(1, 3), ['**no**: BackupFailed', 'yesterday (failed)']);
    assert.match(text, /Legend: ✅ backup succeeded · ❌ backup failed · ⚠️ succeeded with warnings · · no backup that day/);
    assert.match(text, /in America\/New_York/);
  });

  test('one table per hypervisor, VMs sorted; not-ready VMs listed with an escaped message', () => {
    const text = readme();
    assert.ok(text.indexOf('### hv-01 (2 VMs)') < text.indexOf('### hv-02 (1 VM)'));
    const calendar = text.slice(text.indexOf('## Last 30 days'));
    assert.ok(calendar.indexOf('| app-01 |') < calendar.indexOf('| db-01 |'));
    assert.match(text, /\| db-01 \| hv-01 \| False \| BackupFailed \| qemu-img \\\| convert failed exit 1 \|/);
    assert.match(text, /- hv-02: stray/);
  });

  test('ages are in calendar days, so the README changes at most once a day', () => {
    const at = (now: string): string => renderStatusFiles(fleet(), summary(), now, { timeZone: TZ }).files.get('status/README.md') ?? '';
    assert.equal(at('2026-02-14T20:00:00Z'), at('2026-02-14T23:59:00Z'));
    assert.equal(row(at('2026-02-17T15:00:00Z'), 'app-01')[2], '4d ago');
  });
});

describe('a fleet of a few hundred VMs', () => {
  test('400 VMs on 6 hypervisors: six tables, one row each, a README the git host still renders', () => {
    const vms = Array.from({ length: 400 }, (_, i) => vm(`vm-${String(i).padStart(3, '0')}`, `hypervisor-0${(i % 6) + 1}`));
    const t0 = performance.now();
    const text = renderStatusFiles(vms, summary(), NOW, { timeZone: TZ }).files.get('status/README.md') ?? '';
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(text.split('\n').filter((l) => /^\| vm-\d{3} \|/.test(l)).length, 400);
    assert.equal(text.split('\n').filter((l) => l.startsWith('### hypervisor-')).length, 6);
    assert.ok(Buffer.byteLength(text) < 256 * 1024, `${Buffer.byteLength(text)} bytes`);
  });
});

describe('statusCommitMessage', () => {
  test('counts and [skip ci]', () => {
    assert.equal(statusCommitMessage(summary({ totals: { vms: 44, ready: 41, failed: 1, overdue: 2, unknown: 0, unprotected: 0, missing: 0 } })), 'status: 41 ok, 1 failed, 2 overdue [skip ci]');
    assert.equal(statusCommitMessage(summary({ totals: { vms: 5, ready: 3, failed: 0, overdue: 0, unknown: 1, unprotected: 2, missing: 1 } })), 'status: 3 ok, 0 failed, 0 overdue, 1 unknown, 1 missing, 2 unprotected [skip ci]');
  });
});
