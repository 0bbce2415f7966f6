// Issue 13 "a pause shows in status": plan.vmNotes[vm].paused / .window reach VmStatus, the VM's
// YAML and the README's fleet table; a paused overdue VM is Ready False with reason Paused (not
// Overdue), and an unchanged pause renders byte-identical files. Plans are built, then given notes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { loadPolicyRepo } from '../../src/core/load.js';
import { planReconcile, DEFAULT_RECONCILE_OPTIONS } from '../../src/core/reconcile/plan.js';
import type { Observed, ReconcilePlan, VmNote } from '../../src/core/reconcile/types.js';
import { buildStatus, type RunLite } from '../../src/core/status-build.js';
import { renderStatusFiles } from '../../src/core/status-render.js';
import type { Condition, VmStatus } from '../../src/core/status-model.js';

const desired = loadPolicyRepo([{ path: 'r.yaml', text: `
settings: { time_zone: UTC }
hypervisors: [{ name: hv1 }]
vms:
  - { name: a, hypervisor: hv1, schedule: weekly, retention: { keep_last: 3 } }
  - { name: b, hypervisor: hv1, schedule: weekly, retention: { keep_last: 3 } }
` }]).desired;
const point = { id: '2026-12-01-120000', time: '2026-12-01T12:00:00Z', status: 'ok' as const, verify: 'ok' as const, verifiedAt: '2026-12-01T13:00:00Z' };
const observed = (at: string): Observed => ({
  at,
  hosts: { hv1: { reachable: true, domains: { a: 'running', b: 'running' }, leftoverOverlays: {} } },
  storage: { a: { hypervisor: 'hv1', points: [point], partials: [] }, b: { hypervisor: 'hv1', points: [], partials: [] } },
  runs: {}, removed: {},
});
const runs: RunLite[] = [{ vm: 'a', kind: 'backup', started: '2026-12-01T12:00:00Z', finished: '2026-12-01T12:05:00Z', status: 'ok', warnings: [], backupId: '2026-12-01-120000' }];
const pause = { vm: 'a', until: '2026-12-20T08:00:00.000Z', reason: 'disk migration', by: 'api:alice', at: '2026-12-03T09:00:00.000Z' };

function pass(now: string, notes: Record<string, Partial<VmNote>>, transitions?: ReturnType<typeof buildStatus>['transitions']) {
  const base = planReconcile(desired, 'rev', observed(now), now, DEFAULT_RECONCILE_OPTIONS);
  const vmNotes = Object.fromEntries(Object.entries(base.vmNotes).map(([vm, n]) => [vm, { ...n, ...(notes[vm] ?? {}) }]));
  const plan: ReconcilePlan = { ...base, vmNotes };
  const b = buildStatus({ desired, observed: observed(now), plan, runs, now, appliedRevision: 'rev', attemptErrors: [], ...(transitions ? { transitions } : {}) });
  return { ...b, files: renderStatusFiles(b.statuses, b.summary, b.summary.generated_at, { timeZone: 'UTC' }).files };
}
const ready = (s: VmStatus): Condition => s.conditions.find((c) => c.type === 'Ready')!;

describe('pauses and windows in status', () => {
  test('a paused VM carries paused {until, reason, by}; its YAML and the README fleet table show it', () => {
    const r = pass('2026-12-03T10:00:00Z', { a: { paused: pause } });
    const a = r.statuses.find((s) => s.vm === 'a')!;
    assert.deepEqual(a.paused, { until: pause.until, reason: 'disk migration', by: 'api:alice' });
    assert.equal(r.statuses.find((s) => s.vm === 'b')!.paused, undefined);
    const y = parse(r.files.get('status/vms/a.yaml')!) as Record<string, unknown>;
    assert.deepEqual(y.paused, { until: pause.until, reason: 'disk migration', by: 'api:alice' });
    assert.equal((parse(r.files.get('status/vms/b.yaml')!) as Record<string, unknown>).paused, undefined);
    const row = r.files.get('status/README.md')!.split('\n').find((l) => l.startsWith('| a |'))!;
    assert.match(row, /paused until 2026-12-20 08:00 \(disk migration, by api:alice\)/);
    assert.doesNotMatch(r.files.get('status/README.md')!.split('\n').find((l) => l.startsWith('| b |'))!, /paused/);
  });

  test('a paused VM that is not overdue keeps its Ready condition exactly', () => {
    const plain = pass('2026-12-03T10:00:00Z', {});
    const paused = pass('2026-12-03T10:00:00Z', { a: { paused: pause } });
    assert.deepEqual(ready(paused.statuses.find((s) => s.vm === 'a')!), ready(plain.statuses.find((s) => s.vm === 'a')!));
  });

  test('paused and overdue: Ready False, reason Paused (not Overdue), not counted overdue; no backup yet too', () => {
    const r = pass('2026-12-10T10:00:00Z', { a: { paused: pause, overdue: true }, b: { paused: { ...pause, vm: 'b' }, overdue: true } });
    for (const vm of ['a', 'b']) {
      const c = ready(r.statuses.find((s) => s.vm === vm)!);
      assert.equal(c.status, 'False');
      assert.equal(c.reason, 'Paused');
      assert.match(c.message, /held until 2026-12-20T08:00:00.000Z \(disk migration, by api:alice\)/);
    }
    assert.equal(r.summary.totals.overdue, 0);
    assert.match(r.files.get('status/summary.yaml')!, /reason: Paused/);
    // Without the pause the same VM is Overdue.
    assert.equal(ready(pass('2026-12-10T10:00:00Z', { a: { overdue: true } }).statuses.find((s) => s.vm === 'a')!).reason, 'Overdue');
  });

  test('a failed last backup still says BackupFailed while paused', () => {
    const failedRuns: RunLite[] = [...runs, { vm: 'a', kind: 'backup', started: '2026-12-02T12:00:00Z', finished: '2026-12-02T12:01:00Z', status: 'failed', warnings: [], error: 'boom' }];
    const base = planReconcile(desired, 'rev', observed('2026-12-03T10:00:00Z'), '2026-12-03T10:00:00Z', DEFAULT_RECONCILE_OPTIONS);
    const plan: ReconcilePlan = { ...base, vmNotes: { ...base.vmNotes, a: { ...base.vmNotes.a!, paused: pause, overdue: true } } };
    const b = buildStatus({ desired, observed: observed('2026-12-03T10:00:00Z'), plan, runs: failedRuns, now: '2026-12-03T10:00:00Z', attemptErrors: [] });
    assert.equal(ready(b.statuses.find((s) => s.vm === 'a')!).reason, 'BackupFailed');
  });

  test('a window: status window {open, next_start, text}; YAML and README show a closed window', () => {
    const r = pass('2026-12-03T10:00:00Z', { a: { window: { open: false, nextStart: '2026-12-05T12:00:00.000Z', text: 'window sat 12:00 for 30h' } }, b: { window: { open: true, text: 'window sat 12:00 for 30h' } } });
    const a = r.statuses.find((s) => s.vm === 'a')!;
    assert.deepEqual(a.window, { open: false, next_start: '2026-12-05T12:00:00.000Z', text: 'window sat 12:00 for 30h' });
    assert.deepEqual(r.statuses.find((s) => s.vm === 'b')!.window, { open: true, text: 'window sat 12:00 for 30h' });
    assert.deepEqual((parse(r.files.get('status/vms/a.yaml')!) as Record<string, unknown>).window, { open: false, next_start: '2026-12-05T12:00:00.000Z', text: 'window sat 12:00 for 30h' });
    const readme = r.files.get('status/README.md')!;
    assert.match(readme.split('\n').find((l) => l.startsWith('| a |'))!, /window opens 2026-12-05 12:00/);
    assert.doesNotMatch(readme.split('\n').find((l) => l.startsWith('| b |'))!, /window/);
  });

  test('an unchanged pause renders byte-identical files a minute later; its expiry changes the reason, not the time', () => {
    const one = pass('2026-12-10T10:00:00Z', { a: { paused: pause, overdue: true } });
    const two = pass('2026-12-10T10:01:00Z', { a: { paused: pause, overdue: true } }, one.transitions);
    assert.deepEqual([...two.files], [...one.files]);
    const expired = pass('2026-12-20T08:01:00Z', { a: { overdue: true } }, two.transitions);
    const c = expired.statuses.find((s) => s.vm === 'a')!.conditions[0]!;
    assert.equal(c.reason, 'Overdue');
    assert.equal(c.lastTransitionTime, '2026-12-10T10:00:00Z', 'still False: the transition time holds');
    assert.equal(expired.statuses.find((s) => s.vm === 'a')!.paused, undefined);
  });

  test('through the real plan: observed.pauses and a policy window reach the status files', () => {
    const d = loadPolicyRepo([{ path: 'r.yaml', text: `
settings: { time_zone: UTC }
hypervisors: [{ name: hv1 }]
policies:
  - { name: weekend, schedule: weekly, retention: { keep_last: 3 }, window: { start: "sat 12:00", duration: 30h } }
vms:
  - { name: a, hypervisor: hv1, policy: weekend }
` }]).desired;
    const now = '2026-11-25T12:00:00Z'; // a Wednesday: outside the window
    const o: Observed = { ...observed(now), storage: { a: { hypervisor: 'hv1', points: [], partials: [] } }, pauses: { a: { ...pause, until: '2026-12-20T08:00:00.000Z' } } };
    const plan = planReconcile(d, 'rev', o, now, DEFAULT_RECONCILE_OPTIONS);
    const b = buildStatus({ desired: d, observed: o, plan, runs: [], now, attemptErrors: [] });
    const a = b.statuses[0]!;
    assert.deepEqual(a.paused, { until: '2026-12-20T08:00:00.000Z', reason: 'disk migration', by: 'api:alice' });
    assert.equal(a.window?.open, false);
    assert.equal(a.window?.next_start, '2026-11-28T12:00:00.000Z');
    assert.equal(ready(a).reason, 'Paused');
    const files = renderStatusFiles(b.statuses, b.summary, now, { timeZone: 'UTC' }).files;
    assert.match(files.get('status/README.md')!, /\| a \| \*\*no\*\*: Paused; ⏸ paused until 2026-12-20 08:00 \(disk migration, by api:alice\) \| never \| [^|]*\(window opens 2026-11-28 12:00\) \|/);
  });
});
