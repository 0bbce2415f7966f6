// require_quiesce: the pure decision (fall back or fail, and what consistency is recorded), the
// pre-check that fails on a silent agent, and the setting through schema + normalize (policy → VM).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicyRepo, formatDiagnostic } from '../../src/core/load.js';
import { evaluatePrechecks, type PrecheckInput } from '../../src/core/prechecks.js';
import { consistencyProblem, quiesceFallback } from '../../src/core/quiesce-policy.js';
import type { Vm } from '../../src/core/model.js';

const vm = (extra: Partial<Vm> = {}): Vm => ({ name: 'db1', hypervisor: 'hv1', enabled: true, method: 'quiesce', priority: 1, schedule: { spec: 'weekly', cron: '0 12 * * 6' }, retention: { keepLast: 1 }, incremental: { fullEvery: 1 }, preBackupCommands: [], labels: {}, disks: { include: [], exclude: [] }, allowOffline: false, verify: { everyDays: 30 }, testRestore: { everyDays: 0, network: 'none' }, compression: 'none', source: { file: 'x', line: 1, col: 1 }, ...extra });
const disk = { target: 'vda', device: 'disk', type: 'file', source: '/img/vda.qcow2', format: 'qcow2', readonly: false, backing: [] as string[] };
const pre = (v: Vm, agentAnswers: boolean): PrecheckInput => ({ vm: v, state: 'running', disks: { copy: [disk], skipped: [] }, images: [{ target: 'vda', format: 'qcow2', allocatedBytes: 1 }], agentAnswers, snapshotNames: [], storage: { writable: true, availBytes: 1e9 }, hypervisorFree: { availBytes: 1e12, path: '/', minFreeGiB: 1 }, marginPercent: 5 });

describe('quiesceFallback / consistencyProblem', () => {
  test('default: fall back to crash-consistent with the given warning', () => {
    assert.deepEqual(quiesceFallback(vm(), 'the freeze failed: x', 'quiesce failed (x): fell back'), { fail: false, warning: 'quiesce failed (x): fell back', consistency: 'crash' });
  });
  test('require_quiesce: fail, naming why and the setting', () => {
    const r = quiesceFallback(vm({ requireQuiesce: true }), 'the guest agent did not answer', 'w');
    assert.equal(r.fail, true);
    assert.match((r as { error: string }).error, /^quiesce impossible \(the guest agent did not answer\) and require_quiesce is set: the backup fails/);
  });
  const table: [string, Partial<Vm>, boolean, 'filesystem' | 'crash', boolean][] = [
    ['required, frozen', { requireQuiesce: true }, true, 'filesystem', false],
    ['required, crash (snapshot outlasted the freeze)', { requireQuiesce: true }, true, 'crash', true],
    ['required, VM shut off', { requireQuiesce: true }, false, 'filesystem', false],
    ['not required, crash', {}, true, 'crash', false],
    ['required but method snapshot: nothing to freeze, no check', { requireQuiesce: true, method: 'snapshot' }, true, 'crash', false],
  ];
  for (const [name, v, running, c, bad] of table) test(name, () => assert.equal(consistencyProblem(vm(v), running, c) !== undefined, bad));
});

describe('pre-checks with a silent agent', () => {
  test('default: a warning, quiesce off (crash-consistent)', () => {
    const r = evaluatePrechecks(pre(vm(), false));
    assert.equal(r.ok, true);
    assert.equal(r.quiesce, false);
    assert.match(r.warnings.join('\n'), /falling back to a crash-consistent/);
  });
  test('require_quiesce: the pre-checks fail before anything is touched', () => {
    const r = evaluatePrechecks(pre(vm({ requireQuiesce: true }), false));
    assert.equal(r.ok, false);
    assert.match(r.failures.join('\n'), /guest agent did not answer.*require_quiesce is set/);
    assert.deepEqual(r.warnings, []);
  });
  test('require_quiesce with a live agent: nothing to say', () => {
    const r = evaluatePrechecks(pre(vm({ requireQuiesce: true }), true));
    assert.equal(r.ok, true);
    assert.equal(r.quiesce, true);
  });
});

describe('require_quiesce in the policy repo', () => {
  const load = (text: string) => loadPolicyRepo([{ path: 'fleet.yaml', text }]);
  const repo = (pol: string, vmExtra: string) => `hypervisors:\n  - name: hv1\npolicies:\n  - name: strict\n    schedule: weekly\n    method: quiesce\n    retention: { keep_last: 3 }\n${pol}vms:\n  - name: a\n    hypervisor: hv1\n    policy: strict\n${vmExtra}  - name: b\n    hypervisor: hv1\n    policy: strict\n`;
  test('a policy sets it for its VMs; a VM may turn it off', () => {
    const r = load(repo('    require_quiesce: true\n', '    require_quiesce: false\n'));
    assert.equal(r.ok, true, r.diagnostics.map(formatDiagnostic).join('\n'));
    assert.equal(r.desired.vms.find((v) => v.name === 'a')!.requireQuiesce, undefined);
    assert.equal(r.desired.vms.find((v) => v.name === 'b')!.requireQuiesce, true);
  });
  test('a VM sets it itself; absent means off', () => {
    const r = load(repo('', '    require_quiesce: true\n'));
    assert.equal(r.desired.vms.find((v) => v.name === 'a')!.requireQuiesce, true);
    assert.equal(r.desired.vms.find((v) => v.name === 'b')!.requireQuiesce, undefined);
  });
  test('the schema wants a boolean', () => {
    const r = load(repo('    require_quiesce: "yes"\n', ''));
    assert.equal(r.ok, false);
    assert.match(r.diagnostics.map(formatDiagnostic).join('\n'), /require_quiesce/);
  });
});
