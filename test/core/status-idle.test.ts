// An idle reconcile renders byte-identical status files (so the daemon commits nothing): condition
// times carry over while their status holds, storage figures are coarse. Pure, table-tested.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicyRepo } from '../../src/core/load.js';
import { planReconcile, DEFAULT_RECONCILE_OPTIONS } from '../../src/core/reconcile/plan.js';
import type { Observed } from '../../src/core/reconcile/types.js';
import { buildStatus, coarseBytes, coarsePercent, type RunLite } from '../../src/core/status-build.js';
import { renderStatusFiles } from '../../src/core/status-render.js';

const desired = loadPolicyRepo([{ path: 'r.yaml', text: `
settings: { time_zone: UTC }
hypervisors: [{ name: hv1 }]
vms:
  - { name: a, hypervisor: hv1, schedule: weekly, retention: { keep_last: 3 } }
` }]).desired;
const observed = (at: string): Observed => ({
  at,
  hosts: { hv1: { reachable: true, domains: { a: 'running' }, leftoverOverlays: {} } },
  storage: { a: { hypervisor: 'hv1', points: [{ id: '2026-12-01-120000', time: '2026-12-01T12:00:00Z', status: 'ok', verify: 'ok', verifiedAt: '2026-12-01T13:00:00Z' }], partials: [] } },
  runs: {}, removed: {},
});
const runs: RunLite[] = [{ vm: 'a', kind: 'backup', started: '2026-12-01T12:00:00Z', finished: '2026-12-01T12:05:00Z', status: 'ok', warnings: [], backupId: '2026-12-01-120000' }];
const TiB = 1024 ** 4;

function pass(now: string, transitions?: ReturnType<typeof buildStatus>['transitions'], used = 68.5 * TiB / 100 * 2, r = runs) {
  const plan = planReconcile(desired, 'rev', observed(now), now, DEFAULT_RECONCILE_OPTIONS);
  const b = buildStatus({ desired, observed: observed(now), plan, runs: r, now, appliedRevision: 'rev', attemptErrors: [], storage: { usedBytes: used, totalBytes: 2 * TiB }, ...(transitions ? { transitions } : {}) });
  return { ...b, files: renderStatusFiles(b.statuses, b.summary, b.summary.generated_at, { timeZone: 'UTC' }).files };
}

describe('idle reconciles render byte-identical status', () => {
  test('same facts a minute later, with the previous transitions: identical files', () => {
    const one = pass('2026-12-03T10:00:00Z');
    const two = pass('2026-12-03T10:01:00Z', one.transitions, 68.5 * TiB / 100 * 2 + 123_456);
    assert.deepEqual([...two.files], [...one.files]);
    assert.equal(two.statuses[0]!.conditions[0]!.lastTransitionTime, '2026-12-03T10:00:00Z');
  });

  test('without them (the first pass after a restart of an old state) the time is now', () => {
    assert.equal(pass('2026-12-03T10:01:00Z').statuses[0]!.conditions[0]!.lastTransitionTime, '2026-12-03T10:01:00Z');
  });

  test('a status change moves the transition time', () => {
    const one = pass('2026-12-03T10:00:00Z');
    const failed: RunLite[] = [...runs, { vm: 'a', kind: 'backup', started: '2026-12-03T10:30:00Z', finished: '2026-12-03T10:31:00Z', status: 'failed', warnings: [], error: 'boom' }];
    const two = pass('2026-12-03T10:31:00Z', one.transitions, undefined, failed);
    const c = two.statuses[0]!.conditions[0]!;
    assert.equal(c.status, 'False');
    assert.equal(c.lastTransitionTime, '2026-12-03T10:31:00Z');
    assert.deepEqual(two.transitions['a/Ready'], { status: 'False', time: '2026-12-03T10:31:00Z' });
  });

  test('coarseBytes / coarsePercent: storage moves the status only when it crosses a whole percent', () => {
    const rows: [number, number, number][] = [
      [0, 64 * 2 ** 20, 0],
      [1.4 * 2 ** 20, 64 * 2 ** 20, 2 ** 20], // granule 1 MiB (1% would be less)
      // An idle-status e2e failure: other writers on the same file system moved 69.0% to 69.1% and made a commit.
      [186900000000, 270553174016, coarseBytes(187168435456, 270553174016)],
      [TiB + 2 ** 29, 2 * TiB, 50 * Math.floor((2 * TiB) / 100)], // granule 1% (about 20.5 GiB)
    ];
    for (const [used, total, want] of rows) assert.equal(coarseBytes(used, total), want, `${used}/${total}`);
    assert.equal(coarsePercent(186900000000, 270553174016), coarsePercent(187168435456, 270553174016));
    assert.equal(coarsePercent(996, 1000), 99, 'rounded down: not reported full before it is');
    assert.equal(coarsePercent(5, 0), 0);
  });
});
