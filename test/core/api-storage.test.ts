// Storage analytics and phase labels of the console (pure): bytes per VM and hypervisor, one
// history sample per day capped at 400, the 80% alert's percent, the engine step → phase map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDailySample, percentOf, usageOf, validSamples, type Sample } from '../../src/core/console/api-storage.js';
import { copyPercent, phaseOfStep } from '../../src/core/console/api-phase.js';
import type { VmStatus } from '../../src/core/status-model.js';

const vm = (name: string, hv: string, sizes: number[]): VmStatus => ({ vm: name, hypervisor: hv, observed: 'running', conditions: [], restore_points: sizes.map((b, i) => ({ id: `p${i}`, time: 't', status: 'ok', verify: 'none', size_bytes: b, keep_reason: [] })), history: [] }) as unknown as VmStatus;
const sample = (day: string, used = 1): Sample => ({ day, used_bytes: used, by_hypervisor: {}, by_vm: {} });

test('usage per VM and per hypervisor from the restore points', () => {
  assert.deepEqual(usageOf([vm('a', 'hv1', [10, 5]), vm('b', 'hv1', [1]), vm('c', 'hv2', [])]), { by_hypervisor: { hv1: 16, hv2: 0 }, by_vm: { a: 15, b: 1, c: 0 } });
});

test('one sample per day: the same day is replaced, days stay in order, at most the cap', () => {
  let s: Sample[] = [];
  s = addDailySample(s, sample('2026-12-01', 1));
  s = addDailySample(s, sample('2026-12-02', 2));
  s = addDailySample(s, sample('2026-12-02', 3));
  assert.deepEqual(s.map((x) => [x.day, x.used_bytes]), [['2026-12-01', 1], ['2026-12-02', 3]]);
  let many: Sample[] = [];
  for (let i = 0; i < 405; i++) many = addDailySample(many, sample(new Date(Date.UTC(2025, 0, 1 + i)).toISOString().slice(0, 10)));
  assert.equal(many.length, 400);
  assert.equal(many[0]!.day, '2025-01-06');
  assert.deepEqual(validSamples([sample('2026-01-01'), { day: 3 }, null, 'x']).length, 1);
  assert.deepEqual(validSamples({}), []);
});

test('percent for the 80% alert; none without a total', () => {
  assert.equal(percentOf(80, 100), 80);
  assert.equal(percentOf(1, 3), 33.3);
  assert.equal(percentOf(5, 0), undefined);
  assert.equal(percentOf(undefined, 10), undefined);
});

test('engine steps map to the console\'s phases; copy percent stays below 100 while copying', () => {
  const steps = ['recover-leftovers', 'pre-checks', 'pre-backup-commands', 'backup-kind', 'snapshot', 'copy-vda', 'backup-api-full', 'copy-vm-state', 'blockcommit', 'post-checks', 'publish', 'define', 'something-else'];
  assert.deepEqual(steps.map(phaseOfStep), ['lock', 'pre-checks', 'pre-checks', 'pre-checks', 'snapshot', 'copying', 'copying', 'copying', 'commit', 'verify', 'publish', 'publish', undefined]);
  assert.equal(copyPercent(50, 200), 25);
  assert.equal(copyPercent(300, 200), 99);
  assert.equal(copyPercent(5, 0), undefined);
  assert.equal(copyPercent(5, undefined), undefined);
});
