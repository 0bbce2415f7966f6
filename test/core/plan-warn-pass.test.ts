// Issue 10 "Plans that warn", the pass-wide rule: besides a VM's own share, the daemon's mass-prune
// guard refuses a whole pass that would delete more than max_prune_percent of all points (every VM
// pruning one point each). `plan` says so with the same shared guard function (prune-guard.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planPolicyChange } from '../../src/core/policy-diff.js';
import { formatPlanMarkdown, formatPlanText } from '../../src/core/plan-format.js';
import { passPrunes } from '../../src/core/prune-guard.js';
import type { RestorePoint } from '../../src/core/model.js';
import { makeDesired } from '../fixtures/desired.js';

const NOW = '2026-11-22T12:00:00Z';
const weekly = (n: number): RestorePoint[] => Array.from({ length: n }, (_, i) => {
  const t = new Date(Date.parse('2026-10-31T17:00:15Z') + i * 7 * 86_400_000);
  return { id: t.toISOString().replace(/T(\d\d):(\d\d):(\d\d).*/, '-$1$2$3'), time: t.toISOString(), status: 'ok', verify: 'ok' };
});

/** Every protected VM has `points` weekly points; `cut` VMs go to keep_weekly `keep`. */
function plan(o: { cut: string[] | 'all'; keep: number; points?: number; allow?: boolean; known?: string[] }) {
  const base = makeDesired();
  const head = structuredClone(base);
  const names = base.vms.filter((v) => v.enabled).map((v) => v.name);
  for (const v of head.vms) if (o.cut === 'all' || o.cut.includes(v.name)) v.retention = { keepWeekly: o.keep };
  head.settings.allowMassPrune = o.allow ?? false;
  const known = o.known ?? names;
  return planPolicyChange({
    base: { label: 'main', desired: base, rendered: [] }, head: { label: 'pr', desired: head, rendered: [] },
    restorePoints: new Map(known.map((n) => [n, weekly(o.points ?? 3)])), now: NOW,
  });
}

describe('plan: the pass-wide mass-prune rule', () => {
  test('every VM pruning one point: no VM is refused alone, the pass is, in JSON, text and markdown', () => {
    const p = plan({ cut: 'all', keep: 2 });
    assert.equal(p.retention.length, 7);
    assert.ok(p.retention.every((r) => r.refused === undefined));
    assert.deepEqual(p.passRefused, { prunes: 7, points: 21, vms: 7, maxPercent: 25 });
    assert.match(formatPlanText(p), /⚠ would be refused: this pass prunes 7 of 21 points of 7 VMs \(the mass-prune guard stops a pass deleting more than 25% of all points/);
    assert.match(formatPlanMarkdown(p), /> \[!CAUTION\]\n> ⛔ would be refused: this pass prunes 7 of 21 points of 7 VMs/);
  });

  test('the unchanged VMs count in the total: a cut of two VMs is under the limit', () => {
    const p = plan({ cut: ['prod-db-01', 'web-server-01'], keep: 2 });
    assert.equal(p.passRefused, undefined);
    assert.doesNotMatch(formatPlanMarkdown(p), /would be refused/);
  });

  test('allow_mass_prune lifts it; no retention change, no pass verdict', () => {
    assert.equal(plan({ cut: 'all', keep: 2, allow: true }).passRefused, undefined);
    assert.equal(plan({ cut: [], keep: 2 }).passRefused, undefined);
  });

  test('a VM refused on its own prunes nothing, but its points count (as the daemon does)', () => {
    // 4 points each: prod-db-01 to keep_weekly 1 (3 of 4: refused alone), the six others to 3 (1 of 4 each):
    // the pass prunes 6 of 28 (21%), not 9 of 28.
    const base = makeDesired();
    const head = structuredClone(base);
    for (const v of head.vms) v.retention = { keepWeekly: v.name === 'prod-db-01' ? 1 : 3 };
    const names = base.vms.filter((v) => v.enabled).map((v) => v.name);
    const p = planPolicyChange({ base: { label: 'main', desired: base, rendered: [] }, head: { label: 'pr', desired: head, rendered: [] }, restorePoints: new Map(names.map((n) => [n, weekly(4)])), now: NOW });
    assert.deepEqual(p.retention.find((r) => r.vm === 'prod-db-01')!.refused, { prunes: 3, points: 4, maxPercent: 25 });
    assert.equal(p.passRefused, undefined);
    const g = { allowMassPrune: false, maxPruneShare: 0.25 };
    assert.deepEqual(passPrunes([{ prunes: 4, points: 8 }, { prunes: 1, points: 2 }, { prunes: 1, points: 2 }], g), { prunes: 2, points: 12, refused: false });
    assert.deepEqual(passPrunes([{ prunes: 1, points: 2 }, { prunes: 1, points: 2 }], g), { prunes: 2, points: 4, refused: true });
  });
});
