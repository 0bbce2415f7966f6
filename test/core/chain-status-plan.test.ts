import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { RestorePoint } from '../../src/core/model.js';
import { chainSummary } from '../../src/core/chain/summary.js';
import { renderVmYaml } from '../../src/core/status-yaml.js';
import { parseStatusRestorePoints } from '../../src/core/status-file.js';
import { planPolicyChange } from '../../src/core/policy-diff.js';
import { formatPlanMarkdown, formatPlanText } from '../../src/core/plan-format.js';
import type { VmStatus } from '../../src/core/status-model.js';
import { makeDesired } from '../fixtures/desired.js';

const F = '2026-11-30-020000';
const I1 = '2026-12-01-020000';
const I2 = '2026-12-02-020000';
const F2 = '2026-12-07-020000';
const iso = (id: string): string => `${id.slice(0, 10)}T${id.slice(11, 13)}:${id.slice(13, 15)}:${id.slice(15, 17)}Z`;
const full = (id: string): RestorePoint => ({ id, time: iso(id), status: 'ok', verify: 'ok', kind: 'full' });
const inc = (id: string, parent: string): RestorePoint => ({ id, time: iso(id), status: 'ok', verify: 'ok', kind: 'incremental', parent });

describe('chainSummary', () => {
  const cases: [string, RestorePoint[], object][] = [
    ['no points', [], { full_every: 7 }],
    ['a full alone', [full(F)], { full_every: 7, full: F, length: 1 }],
    ['the newest chain', [full(F), inc(I1, F), inc(I2, I1)], { full_every: 7, full: F, length: 3 }],
    ['a new full starts a new chain', [full(F), inc(I1, F), full(F2)], { full_every: 7, full: F2, length: 1 }],
    ['a missing parent', [full(F), inc(I2, I1)], { full_every: 7, broken: `${I2}'s parent ${I1} is not recorded` }],
  ];
  for (const [name, points, want] of cases) test(name, () => assert.deepEqual(chainSummary(points, { fullEvery: 7 }), want));
  test('full_every_days is shown', () => assert.deepEqual(chainSummary([], { fullEvery: 3, fullEveryDays: 7 }), { full_every: 3, full_every_days: 7 }));
});

describe('status/vms/<vm>.yaml shows the chain', () => {
  const status: VmStatus = {
    vm: 'db1', hypervisor: 'hv1', observed: 'running', conditions: [], history: [],
    restore_points: [
      { id: F, time: iso(F), status: 'ok', verify: 'ok', kind: 'full', keep_reason: [`base of ${I1}`] },
      { id: I1, time: iso(I1), status: 'ok', verify: 'ok', kind: 'incremental', parent: F, keep_reason: ['newest verified-good point'] },
    ],
    chain: { full: F, length: 2, full_every: 7 },
  };
  const text = renderVmYaml(status);
  test('per point kind and parent, and a chain summary', () => {
    assert.match(text, new RegExp(`chain:\\n  full: ${F}\\n  length: 2\\n  full_every: 7\\nrestore_points:`));
    assert.match(text, new RegExp(`- id: ${I1}\\n    time: [^\\n]+\\n    status: ok\\n    verify: ok\\n    kind: incremental\\n    parent: ${F}\\n`));
    assert.match(text, new RegExp(`kind: full\\n    keep_reason:\\n      - base of ${I1}`));
  });
  test('plan reads kind and parent back', () => {
    const back = parseStatusRestorePoints(text).points;
    assert.deepEqual(back.find((p) => p.id === I1), { id: I1, time: iso(I1), status: 'ok', verify: 'ok', kind: 'incremental', parent: F });
    assert.equal(back.find((p) => p.id === F)!.kind, 'full');
  });
});

describe('plan: chains', () => {
  const base = makeDesired();
  const side = (d: typeof base, label: string) => ({ label, desired: d, rendered: [] });
  test('a change of full_every shows as a change', () => {
    const head = structuredClone(base);
    head.vms[0]!.incremental = { fullEvery: 7 };
    const plan = planPolicyChange({ base: side(base, 'a'), head: side(head, 'b'), restorePoints: new Map(), now: '2026-12-08T00:00:00Z' });
    assert.equal(plan.hasChanges, true);
    assert.deepEqual(plan.vmChanges, [{ vm: head.vms[0]!.name, changes: [{ field: 'incremental', before: { fullEvery: 1 }, after: { fullEvery: 7 } }] }]);
    assert.match(formatPlanText(plan), /incremental \{"fullEvery":1\} → \{"fullEvery":7\}/);
  });
  test('the retention section lists the points kept only as `base of`', () => {
    const head = structuredClone(base);
    const vm = head.vms[0]!.name;
    base.vms[0]!.retention = { keepLast: 5 };
    head.vms[0]!.retention = { keepLast: 1 };
    const points = [full(F), inc(I1, F), inc(I2, I1)];
    const plan = planPolicyChange({ base: side(base, 'a'), head: side(head, 'b'), restorePoints: new Map([[vm, points]]), now: '2026-12-08T00:00:00Z' });
    const r = plan.retention.find((x) => x.vm === vm)!;
    assert.deepEqual(r.wouldPrune, []);
    assert.deepEqual(r.bases.map((b) => [b.id, b.reasons]), [[F, [`base of ${I2}`]], [I1, [`base of ${I2}`]]]);
    assert.match(formatPlanText(plan), new RegExp(`    keeps ${F} \\(base of ${I2}\\)`));
    assert.match(formatPlanMarkdown(plan), new RegExp(`🔗 keeps ${I1} \\(base of ${I2}\\)`));
  });
});
