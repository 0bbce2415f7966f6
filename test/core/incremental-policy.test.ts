import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicyRepo, formatDiagnostic } from '../../src/core/load.js';

describe('incremental: in the policy repo', () => {
  const load = (text: string) => loadPolicyRepo([{ path: 'fleet.yaml', text }]);
  const repo = (pol: string, vmExtra: string) =>
    `hypervisors:\n  - name: hv1\npolicies:\n  - name: p\n    schedule: daily\n    retention: { keep_last: 3 }\n${pol}vms:\n  - name: a\n    hypervisor: hv1\n    policy: p\n${vmExtra}  - name: b\n    hypervisor: hv1\n    policy: p\n  - name: c\n    hypervisor: hv1\n    schedule: daily\n    retention: { keep_last: 1 }\n`;
  const vm = (r: ReturnType<typeof load>, n: string) => r.desired.vms.find((v) => v.name === n)!;

  test('default: always full', () => {
    const r = load(repo('', ''));
    assert.equal(r.ok, true, r.diagnostics.map(formatDiagnostic).join('\n'));
    for (const n of ['a', 'b', 'c']) assert.deepEqual(vm(r, n).incremental, { fullEvery: 1 });
  });
  test('a policy sets it for its VMs; a VM overrides it whole', () => {
    const r = load(repo('    incremental: { full_every: 7, full_every_days: 7 }\n', '    incremental: { full_every: 14 }\n'));
    assert.equal(r.ok, true, r.diagnostics.map(formatDiagnostic).join('\n'));
    assert.deepEqual(vm(r, 'a').incremental, { fullEvery: 14 });
    assert.deepEqual(vm(r, 'b').incremental, { fullEvery: 7, fullEveryDays: 7 });
    assert.deepEqual(vm(r, 'c').incremental, { fullEvery: 1 });
    assert.deepEqual(r.desired.policies[0]!.incremental, { fullEvery: 7, fullEveryDays: 7 });
  });
  const bad: [string, string, RegExp][] = [
    ['full_every 0', '    incremental: { full_every: 0 }\n', /^fleet\.yaml:11:32: error: vms\[0\]\.incremental\.full_every: must be >= 1 \[VMB_SCHEMA\]$/m],
    ['full_every_days 0', '    incremental: { full_every: 3, full_every_days: 0 }\n', /^fleet\.yaml:11:52: error: vms\[0\]\.incremental\.full_every_days: must be >= 1/m],
    ['full_every not an integer', '    incremental: { full_every: 2.5 }\n', /^fleet\.yaml:11:32: .*full_every: must be integer/m],
    ['full_every missing', '    incremental: { full_every_days: 3 }\n', /^fleet\.yaml:11:18: .*missing required key "full_every"/m],
    ['an unknown key', '    incremental: { full_every: 3, every: 2 }\n', /^fleet\.yaml:11:35: .*unknown key "every" \[VMB_UNKNOWN_KEY\]/m],
  ];
  for (const [name, vmExtra, re] of bad) {
    test(`diagnostic at the VM's field: ${name}`, () => {
      const r = load(repo('', vmExtra));
      assert.equal(r.ok, false);
      assert.match(r.diagnostics.map(formatDiagnostic).join('\n'), re);
    });
  }
});
