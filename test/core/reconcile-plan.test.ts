// Table tests for plan(desired × observed × now): pure, deterministic, closed action set.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicyRepo } from '../../src/core/load.js';
import { planReconcile, DEFAULT_RECONCILE_OPTIONS } from '../../src/core/reconcile/plan.js';
import type { Observed, ObservedPoint } from '../../src/core/reconcile/types.js';

const REPO = `
settings: { time_zone: UTC, overdue_grace_hours: 6 }
hypervisors: [{ name: hv1 }, { name: hv2 }]
policies:
  - { name: std, schedule: weekly, retention: { keep_last: 3 }, verify: { every: 30d }, test_restore: { every: 30d, sample: 1 } }
vms:
  - { name: a, hypervisor: hv1, policy: std, priority: 5 }
  - { name: b, hypervisor: hv1, policy: std, priority: 1 }
  - { name: c, hypervisor: hv2, policy: std }
`;
const desired = loadPolicyRepo([{ path: 'r.yaml', text: REPO }]).desired;
const NOW = '2026-11-22T12:00:00Z';
const pt = (id: string, o: Partial<ObservedPoint> = {}): ObservedPoint => ({ id, time: `${id.slice(0, 10)}T${id.slice(11, 13)}:${id.slice(13, 15)}:${id.slice(15, 17)}Z`, status: 'ok', verify: 'ok', verifiedAt: `${id.slice(0, 10)}T23:00:00Z`, ...o });
const weekly = (n: number, last = '2026-11-21'): ObservedPoint[] => Array.from({ length: n }, (_, i) => pt(`${new Date(Date.parse(`${last}T12:00:00Z`) - i * 7 * 86_400_000).toISOString().slice(0, 10)}-120000`));

function observed(o: Partial<Observed> = {}): Observed {
  return {
    at: NOW,
    hosts: { hv1: { reachable: true, domains: { a: 'running', b: 'running' }, leftoverOverlays: {} }, hv2: { reachable: true, domains: { c: 'running' }, leftoverOverlays: {} } },
    storage: { a: { hypervisor: 'hv1', points: weekly(3), partials: [] }, b: { hypervisor: 'hv1', points: weekly(3), partials: [] }, c: { hypervisor: 'hv2', points: weekly(3), partials: [] } },
    runs: { a: { lastTestRestore: { time: '2026-11-20T00:00:00Z', backupId: 'x', result: 'ok' } } },
    removed: {},
    ...o,
  };
}
const kinds = (o: Observed, opts = DEFAULT_RECONCILE_OPTIONS) => planReconcile(desired, 'rev1', o, NOW, opts).actions.map((a) => `${a.kind}:${'vm' in a ? a.vm : a.subject}${a.kind === 'prune' || a.kind === 'verify' ? `@${a.id}` : ''}`);

describe('planReconcile', () => {
  test('steady state: nothing to do', () => assert.deepEqual(kinds(observed()), []));
  test('a VM with no backup is backed up at once; backups in priority order', () => {
    const o = observed({ storage: { c: { hypervisor: 'hv2', points: weekly(3), partials: [] } } });
    assert.deepEqual(kinds(o).filter((k) => k.startsWith('backup')), ['backup:b', 'backup:a']);
  });
  test('overdue after schedule + grace, not before', () => {
    const stale = observed({ storage: { ...observed().storage, a: { hypervisor: 'hv1', points: weekly(3, '2026-11-14'), partials: [] } } });
    assert.ok(kinds(stale).includes('backup:a'), 'last good 11-14, the 11-21 run + 6h grace has passed');
    const early = planReconcile(desired, 'rev1', stale, '2026-11-21T17:00:00Z').actions;
    assert.ok(!early.some((a) => a.kind === 'backup'), 'within the grace period');
  });
  test('retention prunes beyond keep_last 3; prunes come last', () => {
    const o = observed({ storage: { ...observed().storage, a: { hypervisor: 'hv1', points: weekly(4), partials: [] } } });
    assert.deepEqual(kinds(o), ['prune:a@2026-10-31-120000']);
  });
  test('mass-prune guard: per VM, unless the repo allows it', () => {
    const o = observed({ storage: { ...observed().storage, a: { hypervisor: 'hv1', points: weekly(10), partials: [] } } });
    assert.deepEqual(kinds(o).filter((k) => !k.startsWith('verify')), ['report:a']);
    assert.match(JSON.stringify(planReconcile(desired, 'r', o, NOW).actions[0]), /would delete 7 of a's 10 backups/);
    assert.equal(kinds(o, { ...DEFAULT_RECONCILE_OPTIONS, allowMassPrune: true }).filter((k) => k.startsWith('prune')).length, 7);
  });
  test('unreachable host: its VMs are unknown, nothing backed up or pruned there, others unaffected', () => {
    const o = observed({ hosts: { ...observed().hosts, hv1: { reachable: false, error: 'ssh: connect timed out', domains: {}, leftoverOverlays: {} } }, storage: { a: { hypervisor: 'hv1', points: weekly(6), partials: [] }, c: { hypervisor: 'hv2', points: weekly(4), partials: [] } } });
    const p = planReconcile(desired, 'rev1', o, NOW);
    assert.deepEqual(p.actions.map((a) => `${a.kind}:${'vm' in a ? a.vm : a.subject}`), ['report:hv1', 'test-restore:c', 'prune:c']);
    assert.equal(p.vmNotes.a!.unknown, true);
  });
  test('unprotected and missing VMs are reported', () => {
    const o = observed({ hosts: { ...observed().hosts, hv2: { reachable: true, domains: { stray: 'running' }, leftoverOverlays: {} } } });
    assert.deepEqual(kinds(o), ['report:hv2/stray', 'report:c']);
  });
  test('leftovers are cleaned before anything else for that VM', () => {
    const o = observed({ hosts: { ...observed().hosts, hv1: { reachable: true, domains: { a: 'running', b: 'running' }, leftoverOverlays: { a: ['/i/a-vda.vmbackup-x.overlay.qcow2'] } } }, storage: { ...observed().storage, b: { hypervisor: 'hv1', points: weekly(3), partials: ['2026-11-22-010000'] } } });
    assert.deepEqual(kinds(o), ['cleanup:a', 'cleanup:b']);
  });
  test('verification older than the policy period is redone, oldest first', () => {
    const old = weekly(3).map((p, i) => ({ ...p, verifiedAt: i === 2 ? '2026-09-01T00:00:00Z' : p.verifiedAt }));
    const o = observed({ storage: { ...observed().storage, b: { hypervisor: 'hv1', points: old, partials: [] } } });
    assert.deepEqual(kinds(o), ['verify:b@2026-11-07-120000']);
  });
  test('test restores rotate: one VM per period, the one tested longest ago', () => {
    const o = observed({ runs: { a: { lastTestRestore: { time: '2026-09-01T00:00:00Z', backupId: 'x', result: 'ok' } }, b: { lastTestRestore: { time: '2026-08-01T00:00:00Z', backupId: 'x', result: 'ok' } } } });
    assert.deepEqual(kinds(o), ['test-restore:c'], 'c never tested');
    const o2 = observed({ runs: { c: { lastTestRestore: { time: '2026-11-01T00:00:00Z', backupId: 'x', result: 'ok' } } } });
    assert.deepEqual(kinds(o2), [], 'c tested within the period fills the sample of 1');
  });
  test('a VM removed from the repo: its backups are kept for the grace period, then its last retention applies', () => {
    const gone = observed({ storage: { ...observed().storage, old: { hypervisor: 'hv1', points: weekly(5), partials: [] } }, removed: { old: { since: '2026-11-10T00:00:00Z', retention: { keepLast: 2 } } } });
    assert.deepEqual(kinds(gone), ['report:old']);
    const later = planReconcile(desired, 'r', gone, '2026-12-15T00:00:00Z', { ...DEFAULT_RECONCILE_OPTIONS, allowMassPrune: true }).actions.filter((a) => a.kind === 'prune' && a.vm === 'old');
    assert.equal(later.length, 3);
  });
  test('pure and deterministic', () => {
    const o = observed();
    assert.deepEqual(planReconcile(desired, 'r', o, NOW), planReconcile(desired, 'r', structuredClone(o), NOW));
  });
});

describe('planReconcile: backoff for a VM whose backups keep failing', () => {
  // c has no good backup, so it is due at once; its last run failed as shown.
  const failing = (lastBackup: NonNullable<Observed['runs'][string]['lastBackup']>): Observed => observed({
    storage: { a: { hypervisor: 'hv1', points: weekly(3), partials: [] }, b: { hypervisor: 'hv1', points: weekly(3), partials: [] } },
    runs: { a: { lastTestRestore: { time: '2026-11-20T00:00:00Z', backupId: 'x', result: 'ok' } }, c: { lastBackup } },
  });
  const cases: { name: string; last: NonNullable<Observed['runs'][string]['lastBackup']>; retried: boolean }[] = [
    { name: 'first failure 4 min ago: wait (5 min)', last: { time: '2026-11-22T11:56:00Z', status: 'failed', failedInARow: 1, revision: 'rev1' }, retried: false },
    { name: 'first failure 6 min ago: retry', last: { time: '2026-11-22T11:54:00Z', status: 'failed', failedInARow: 1, revision: 'rev1' }, retried: true },
    { name: 'third failure in a row 15 min ago: wait (20 min)', last: { time: '2026-11-22T11:45:00Z', status: 'failed', failedInARow: 3, revision: 'rev1' }, retried: false },
    { name: 'third failure in a row 21 min ago: retry', last: { time: '2026-11-22T11:39:00Z', status: 'failed', failedInARow: 3, revision: 'rev1' }, retried: true },
    { name: 'twentieth failure 5 h ago: wait (capped at 6 h)', last: { time: '2026-11-22T07:00:00Z', status: 'failed', failedInARow: 20, revision: 'rev1' }, retried: false },
    { name: 'twentieth failure 6 h 1 min ago: retry', last: { time: '2026-11-22T05:59:00Z', status: 'failed', failedInARow: 20, revision: 'rev1' }, retried: true },
    { name: 'failed under an older revision: the new commit may be the fix, retry at once', last: { time: '2026-11-22T11:59:00Z', status: 'failed', failedInARow: 4, revision: 'rev0' }, retried: true },
    { name: 'interrupted by a restart: caught up at once', last: { time: '2026-11-22T11:59:00Z', status: 'interrupted', revision: 'rev1' }, retried: true },
  ];
  for (const c of cases) test(c.name, () => assert.equal(kinds(failing(c.last)).includes('backup:c'), c.retried));
});
