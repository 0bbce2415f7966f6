// The reconcile's status files show chains: each restore point's kind and parent, a chain summary,
// and the `base of` keep reasons of chain-aware retention, end to end from a loaded repo.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { loadPolicyRepo } from '../../src/core/load.js';
import { planReconcile, DEFAULT_RECONCILE_OPTIONS } from '../../src/core/reconcile/plan.js';
import type { Observed } from '../../src/core/reconcile/types.js';
import { buildStatus } from '../../src/core/status-build.js';
import { renderStatusFiles } from '../../src/core/status-render.js';

const NOW = '2026-12-10T10:00:00Z';
const repo = `settings: { time_zone: UTC }\nhypervisors: [{ name: hv1 }]\nvms:\n  - { name: inc, hypervisor: hv1, schedule: daily, retention: { keep_last: 1 }, incremental: { full_every: 7 } }\n  - { name: plain, hypervisor: hv1, schedule: daily, retention: { keep_last: 1 } }\n`;
const desired = loadPolicyRepo([{ path: 'r.yaml', text: repo }]).desired;
const pt = (id: string, parent?: string) => ({ id, time: `${id.slice(0, 10)}T02:00:00Z`, status: 'ok' as const, verify: 'ok' as const, ...(parent ? { kind: 'incremental' as const, parent } : { kind: 'full' as const }) });
const F = '2026-12-08-020000';
const I1 = '2026-12-09-020000';
const I2 = '2026-12-10-020000';
const observed: Observed = {
  at: NOW,
  hosts: { hv1: { reachable: true, domains: { inc: 'running', plain: 'running' }, leftoverOverlays: {} } },
  storage: {
    inc: { hypervisor: 'hv1', points: [pt(F), pt(I1, F), pt(I2, I1)], partials: [] },
    plain: { hypervisor: 'hv1', points: [{ id: F, time: `${F.slice(0, 10)}T02:00:00Z`, status: 'ok', verify: 'ok' }], partials: [] },
  },
  runs: {}, removed: {},
};

describe('chains in status/vms/<vm>.yaml', () => {
  const plan = planReconcile(desired, 'rev', observed, NOW, DEFAULT_RECONCILE_OPTIONS);
  const b = buildStatus({ desired, observed, plan, runs: [], now: NOW, appliedRevision: 'rev', attemptErrors: [] });
  const files = renderStatusFiles(b.statuses, b.summary, NOW, { timeZone: 'UTC' }).files;
  const vm = (n: string) => parse(files.get(`status/vms/${n}.yaml`)!) as Record<string, any>;
  test('kind, parent, chain summary and base-of reasons', () => {
    const s = vm('inc');
    assert.deepEqual(s.chain, { full: F, length: 3, full_every: 7 });
    assert.deepEqual(s.restore_points.map((p: any) => [p.id, p.kind, p.parent, p.keep_reason]), [
      [I2, 'incremental', I1, ['newest verified-good point', 'keep_last 1/1']],
      [I1, 'incremental', F, [`base of ${I2}`]],
      [F, 'full', undefined, [`base of ${I2}`]],
    ]);
  });
  test('the reconcile prunes none of the chain', () => {
    assert.deepEqual(plan.actions.filter((a) => a.kind === 'prune' && a.vm === 'inc'), []);
  });
  test('a VM without incrementals has no chain block and no kind on old points', () => {
    const s = vm('plain');
    assert.equal(s.chain, undefined);
    assert.equal(s.restore_points[0].kind, undefined);
  });
});
