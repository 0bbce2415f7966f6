// Issue 10 "Plans that warn": the PR comment says when the mass-prune guard would refuse, marks retention
// cuts, lists validation warnings and shows every schedule change.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planPolicyChange } from '../../src/core/policy-diff.js';
import { formatPlanMarkdown, formatPlanText, formatInvalidMarkdown } from '../../src/core/plan-format.js';
import type { Diagnostic, RestorePoint } from '../../src/core/model.js';
import { makeDesired } from '../fixtures/desired.js';

const NOW = '2026-11-22T12:00:00Z';
/** 8 weekly points of prod-db-01, newest last. */
const POINTS: RestorePoint[] = Array.from({ length: 8 }, (_, i) => {
  const t = new Date(Date.parse('2026-10-03T17:00:15Z') + i * 7 * 86_400_000);
  const id = t.toISOString().replace(/T(\d\d):(\d\d):(\d\d).*/, '-$1$2$3');
  return { id, time: t.toISOString(), status: 'ok', verify: 'ok' };
});

function cutTo(keepWeekly: number, allowMassPrune = false, warnings: Diagnostic[] = []) {
  const base = makeDesired();
  const head = structuredClone(base);
  head.vms.find((v) => v.name === 'prod-db-01')!.retention = { keepWeekly };
  head.settings.allowMassPrune = allowMassPrune;
  return planPolicyChange({
    base: { label: 'main', desired: base, rendered: [] },
    head: { label: 'pr', desired: head, rendered: [] },
    restorePoints: new Map([['prod-db-01', POINTS]]), now: NOW, warnings,
  });
}

describe('plan: the mass-prune guard', () => {
  test('a cut the guard would refuse says so, in JSON, text and markdown', () => {
    const plan = cutTo(2);
    const r = plan.retention.find((x) => x.vm === 'prod-db-01')!;
    assert.deepEqual(r.refused, { prunes: 6, points: 8, maxPercent: 25 });
    assert.match(formatPlanText(plan), /would be refused: prunes 6 of 8 points of prod-db-01/);
    const md = formatPlanMarkdown(plan);
    assert.match(md, /> \[!CAUTION\]\n> .*would be refused: prunes 6 of 8 points of `prod-db-01`/);
  });

  test('with allow_mass_prune there is no refusal, and a small cut is not refused', () => {
    assert.equal(cutTo(2, true).retention[0]!.refused, undefined);
    const small = cutTo(7);
    assert.equal(small.retention[0]!.refused, undefined);
    assert.doesNotMatch(formatPlanMarkdown(small), /would be refused/);
  });

  test('a retention cut is marked ⚠️; a retention raise is not', () => {
    assert.match(formatPlanMarkdown(cutTo(7)), /\| ⚠️ `prod-db-01` \| keep_weekly=8 \| keep_weekly=7 \| 🗑️ /);
    assert.match(formatPlanText(cutTo(7)), /~ prod-db-01: ⚠️ retention keep_weekly=8 → keep_weekly=7/);
    assert.match(formatPlanMarkdown(cutTo(12)), /\| `prod-db-01` \| keep_weekly=8 \| keep_weekly=12 \| none \|/);
  });
});

describe('plan: warnings, schedules and errors', () => {
  const warning: Diagnostic = { code: 'VMB_IMPLICIT_HYPERVISOR', severity: 'warning', file: 'vms/a.yaml', line: 3, col: 17, message: 'no hypervisor is declared' };

  test('validation warnings are listed', () => {
    const plan = cutTo(7, false, [warning]);
    assert.deepEqual(plan.warnings, [warning]);
    assert.match(formatPlanMarkdown(plan), /#### Validation warnings\n\n- `vms\/a\.yaml:3:17`: no hypervisor is declared \(`VMB_IMPLICIT_HYPERVISOR`\)/);
    assert.match(formatPlanText(plan), /warning: vms\/a\.yaml:3:17: no hypervisor is declared \[VMB_IMPLICIT_HYPERVISOR\]/);
  });

  test('warnings are listed even when nothing changes', () => {
    const d = makeDesired();
    const plan = planPolicyChange({ base: { label: 'main', desired: d, rendered: [] }, head: { label: 'pr', desired: d, rendered: [] }, restorePoints: new Map(), now: NOW, warnings: [warning] });
    assert.equal(plan.hasChanges, false);
    assert.match(formatPlanMarkdown(plan), /No changes[\s\S]*#### Validation warnings/);
  });

  test('a VM that loses protection shows in the Schedules table (the count always has its table)', () => {
    const base = makeDesired();
    const head = structuredClone(base);
    head.vms = head.vms.filter((v) => v.name !== 'dev-test-vm');
    const plan = planPolicyChange({ base: { label: 'main', desired: base, rendered: [] }, head: { label: 'pr', desired: head, rendered: [] }, restorePoints: new Map(), now: NOW });
    const md = formatPlanMarkdown(plan);
    assert.match(md, /1 schedule change/);
    assert.match(md, /#### Schedules\n\n\| VM \| before \| after \| next runs \|\n\|---\|---\|---\|---\|\n\| `dev-test-vm` \| biweekly \| — \(no longer scheduled\) \| — \|/);
  });

  test('a new time zone lists every VM in the Schedules table (their runs move)', () => {
    const base = makeDesired();
    const head = structuredClone(base);
    head.settings.timeZone = 'UTC';
    const plan = planPolicyChange({ base: { label: 'main', desired: base, rendered: [] }, head: { label: 'pr', desired: head, rendered: [] }, restorePoints: new Map(), now: NOW });
    assert.equal(plan.schedules.length, head.vms.filter((v) => v.enabled).length);
    assert.match(formatPlanMarkdown(plan), /#### Schedules\n[\s\S]*\| `prod-db-01` \| weekly \| weekly \| Sat 2026-11-28 12:00 UTC/);
  });

  test('errors print as a markdown comment', () => {
    const err: Diagnostic = { code: 'VMB_UNKNOWN_POLICY', severity: 'error', file: 'vms/a.yaml', line: 4, col: 13, message: 'policy "standrad" is not defined; did you mean "standard"?' };
    const md = formatInvalidMarkdown('main (abc)', 'working tree', [err, warning]);
    assert.match(md, /^### vmbackup plan: `main \(abc\)` → `working tree`\n/);
    assert.match(md, /> \[!CAUTION\]\n> \*\*`working tree` is invalid: 1 error, 1 warning\.\*\* Nothing was planned/);
    assert.match(md, /\| `vms\/a\.yaml:4:13` \| error \| policy "standrad" is not defined; did you mean "standard"\? \| `VMB_UNKNOWN_POLICY` \|/);
  });
});
