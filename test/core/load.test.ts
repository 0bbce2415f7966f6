import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadPolicyRepo, formatDiagnostic, isPolicyPath } from '../../src/core/load.js';
import { readPolicyFilesFromDir } from '../../src/adapters/policy-files.js';
import { EXAMPLE_FLEET, ROOT } from '../helpers/paths.js';

const HV = 'hypervisors:\n  - name: hv1\n  - name: hv2\n';
const POL = 'policies:\n  - name: std\n    schedule: weekly\n    retention: { keep_last: 3 }\n';
const load = (files: Record<string, string>) => loadPolicyRepo(Object.entries(files).map(([path, text]) => ({ path, text })));
const lines = (files: Record<string, string>) => load(files).diagnostics.map(formatDiagnostic);

/** The seed-002 vm-list.yaml, verbatim (kept in test/fixtures so the suite runs without ../shared). */
const SEED_VM_LIST = readFileSync(`${ROOT}/test/fixtures/seed-002-vm-list.yaml`, 'utf8');

describe('loadPolicyRepo: accepted repos', () => {
  test('seed 002 vm-list.yaml is accepted exactly as written', () => {
    const r = load({ 'vm-list.yaml': SEED_VM_LIST });
    assert.equal(r.ok, true, r.diagnostics.map(formatDiagnostic).join('\n'));
    assert.deepEqual(r.desired.vms.map((v) => v.name), ['asav-firewall-01', 'dev-test-vm', 'file-server-01', 'prod-db-01', 'web-server-01']);
    const asav = r.desired.vms.find((v) => v.name === 'asav-firewall-01')!;
    assert.deepEqual(asav.preBackupCommands, [['ssh', 'admin@192.168.1.1', 'write memory']]);
    assert.equal(asav.retention.keepWithin, '8w');
    assert.equal(asav.schedule.cron, '0 12 * * 6');
    assert.ok(r.diagnostics.every((d) => d.code === 'VMB_IMPLICIT_HYPERVISOR' && d.severity === 'warning'));
  });

  test('examples/fleet is valid with no warnings', async () => {
    const r = loadPolicyRepo(await readPolicyFilesFromDir(EXAMPLE_FLEET));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    assert.equal(r.desired.hypervisors.length, 6);
    const byName = new Map(r.desired.vms.map((v) => [v.name, v]));
    assert.equal(byName.get('prod-db-02')!.policy, 'critical');
    assert.equal(byName.get('prod-db-02')!.method, 'quiesce');
    assert.equal(byName.get('ldap-01')!.priority, 4, 'VM field overrides policy');
    assert.equal(byName.get('prod-db-01')!.policy, 'standard', 'default_policy applies');
    assert.equal(byName.get('prod-db-01')!.schedule.spec, 'weekly', 'own schedule overrides policy');
    assert.equal(byName.get('scratch-vm')!.enabled, false);
  });

  test('result does not depend on file order', () => {
    const a = load({ 'a.yaml': HV, 'b.yaml': POL, 'c.yaml': 'vms:\n  - { name: x, hypervisor: hv1, policy: std }\n' });
    const b = loadPolicyRepo([{ path: 'c.yaml', text: 'vms:\n  - { name: x, hypervisor: hv1, policy: std }\n' }, { path: 'b.yaml', text: POL }, { path: 'a.yaml', text: HV }]);
    assert.deepEqual(a, b);
  });
});

describe('loadPolicyRepo: every problem at file:line:col', () => {
  const cases: { name: string; files: Record<string, string>; expect: RegExp[] }[] = [
    { name: 'unknown key with a suggestion', files: { 'h.yaml': HV, 'v.yaml': 'vms:\n  - name: a\n    hypervisor: hv1\n    schedule: weekly\n    retention_week: 8\n' },
      expect: [/^v\.yaml:5:5: error: vms\[0\]\.retention_week: unknown key "retention_week"; did you mean "retention_weeks"\? \[VMB_UNKNOWN_KEY\]/] },
    { name: 'duplicate VM across files names both places', files: { 'h.yaml': HV + POL, 'a.yaml': 'vms:\n  - { name: x, hypervisor: hv1, policy: std }\n', 'b.yaml': '\nvms:\n  - name: x\n    hypervisor: hv2\n    policy: std\n' },
      expect: [/^b\.yaml:3:11: error: duplicate VM name "x" \(first defined at a\.yaml:2:13\) \[VMB_DUPLICATE_NAME\]/] },
    { name: 'unknown hypervisor', files: { 'h.yaml': HV + POL, 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv9, policy: std }\n' }, expect: [/^v\.yaml:2:28: error: hypervisor "hv9" is not defined \(known: hv1, hv2\)/] },
    { name: 'unknown policy', files: { 'h.yaml': HV, 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1, policy: gold }\n' }, expect: [/^v\.yaml:2:41: error: policy "gold" is not defined/] },
    { name: 'bad cron', files: { 'h.yaml': HV, 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1, schedule: "61 * * * *", retention_weeks: 2 }\n' }, expect: [/^v\.yaml:2:43: error: schedule "61 \* \* \* \*": .* \[VMB_BAD_SCHEDULE\]/] },
    { name: 'retention keeps nothing', files: { 'h.yaml': HV, 'v.yaml': 'vms:\n  - name: x\n    hypervisor: hv1\n    schedule: daily\n    retention: { keep_last: 0 }\n' }, expect: [/^v\.yaml:5:16: error: retention keeps no restore point/] },
    { name: 'priority must be an integer', files: { 'h.yaml': HV + POL, 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1, policy: std, priority: 1.5 }\n' }, expect: [/^v\.yaml:2:56: error: vms\[0\]\.priority: must be integer \[VMB_SCHEMA\]/] },
    { name: 'unknown method with suggestion', files: { 'h.yaml': HV + POL, 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1, policy: std, method: quiesse }\n' }, expect: [/vms\[0\].method: "quiesse" is not one of quiesce, snapshot; did you mean "quiesce"\?/] },
    { name: 'duplicate key in one mapping', files: { 'v.yaml': 'vms:\n  - name: x\n    name: y\n' }, expect: [/^v\.yaml:3:5: error: duplicate key "name" in one mapping \[VMB_YAML_DUPLICATE_KEY\]/] },
    { name: 'names that could escape a path or a shell', files: { 'h.yaml': HV + POL, 'v.yaml': 'vms:\n  - { name: "../etc", hypervisor: hv1, policy: std }\n  - { name: "a b", hypervisor: hv1, policy: std }\n  - { name: "x;rm", hypervisor: hv1, policy: std }\n  - { name: "$(id)", hypervisor: hv1, policy: std }\n' },
      expect: [/v\.yaml:2:.*invalid name "\.\.\/etc"/, /v\.yaml:3:.*invalid name "a b"/, /v\.yaml:4:.*invalid name "x;rm"/, /v\.yaml:5:.*invalid name "\$\(id\)"/] },
    { name: 'literal Slack webhook', files: { 's.yaml': 'settings:\n  notifications:\n    slack:\n      failure_webhook: https://hooks.slack.com/services/T0/B0/XXXX\n' }, expect: [/^s\.yaml:4:24: error: settings\.notifications\.slack\.failure_webhook: secrets are never written in the repo/] },
    { name: 'webhook hidden in a description', files: { 'h.yaml': 'hypervisors:\n  - name: hv1\n    description: "alerts go to https://hooks.slack.com/services/T0/B0/XXXX"\n' }, expect: [/^h\.yaml:3:18: error: hypervisors\[0\]\.description: looks like a Slack webhook URL/] },
    { name: 'shell operators in pre_backup_commands', files: { 'h.yaml': HV + POL, 'v.yaml': 'vms:\n  - name: x\n    hypervisor: hv1\n    policy: std\n    pre_backup_commands:\n      - echo hi; rm -rf /\n      - echo $HOME\n' },
      expect: [/^v\.yaml:6:9: error: pre_backup_commands\[0\]: shell operator ";"/, /^v\.yaml:7:9: error: pre_backup_commands\[1\]: variables/] },
    { name: 'ambiguous selectors', files: { 'h.yaml': HV, 'p.yaml': 'policies:\n  - { name: a, selector: { match_labels: { t: x } }, schedule: daily, retention: { keep_last: 1 } }\n  - { name: b, selector: { match_labels: { t: x } }, schedule: daily, retention: { keep_last: 1 } }\n', 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1, labels: { t: x } }\n' },
      expect: [/^v\.yaml:2:5: error: VM "x" matches the selectors of several policies: a \(p\.yaml:2:5\), b \(p\.yaml:3:5\)/] },
    { name: 'a setting set in two files', files: { 'a.yaml': 'settings:\n  scheduler: cron\n', 'b.yaml': 'settings:\n  scheduler: bacula\n' }, expect: [/^b\.yaml:2:3: error: settings\.scheduler is set twice \(first at a\.yaml:2:3\)/] },
    { name: 'no schedule anywhere', files: { 'h.yaml': HV, 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1, retention_weeks: 2 }\n' }, expect: [/^v\.yaml:2:5: error: VM "x" has no schedule/] },
    { name: 'alias bomb fails fast', files: { 'v.yaml': 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n' }, expect: [/^v\.yaml:1:1: error: .*alias.* \[VMB_YAML_ALIAS_BOMB\]/i] },
    { name: 'deep nesting fails fast', files: { 'v.yaml': 'vms: ' + '['.repeat(100000) + ']'.repeat(100000) + '\n' }, expect: [/^v\.yaml:1:1: error: nesting depth \d+ exceeds the limit of 64 \[VMB_YAML_TOO_DEEP\]/] },
    { name: 'huge file fails fast', files: { 'v.yaml': '#'.repeat(17 * 1024 * 1024) }, expect: [/^v\.yaml:1:1: error: file is \d+ bytes; the limit is 16777216 \[VMB_YAML_TOO_LARGE\]/] },
    { name: 'syntax error', files: { 'v.yaml': 'vms:\n  - name: [unclosed\n' }, expect: [/^v\.yaml:\d+:\d+: error: .* \[VMB_YAML_SYNTAX\]/] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const t0 = Date.now();
      const out = lines(c.files);
      assert.ok(Date.now() - t0 < 5000, 'hostile input must fail fast');
      for (const re of c.expect) assert.ok(out.some((l) => re.test(l)), `expected ${re} in:\n${out.join('\n')}`);
      assert.equal(load(c.files).ok, false);
    });
  }

  test('all problems are reported in one run, sorted by position', () => {
    const out = lines({ 'h.yaml': HV, 'v.yaml': 'vms:\n  - { name: a, hypervisor: nope, schedule: weekly, retention_weeks: 1 }\n  - { name: b, hypervisor: hv1, method: x, schedule: weekly, retention_weeks: 1 }\n  - { name: c, hypervisor: hv1, schedule: weekly, retention_weeks: 1, bogus: 1 }\n' });
    assert.equal(out.length, 3, out.join('\n'));
    assert.match(out[0]!, /^v\.yaml:2:/);
    assert.match(out[1]!, /^v\.yaml:3:/);
    assert.match(out[2]!, /^v\.yaml:4:/);
  });
});

describe('isPolicyPath', () => {
  const table: [string, boolean][] = [['vm-list.yaml', true], ['vms/a.yml', true], ['status/vms/a.yaml', false], ['templates/x.yaml', false], ['.github/workflows/ci.yaml', false], ['a/.hidden/x.yaml', false], ['README.md', false], ['statusfoo.yaml', true]];
  for (const [p, want] of table) test(p, () => assert.equal(isPolicyPath(p), want));
});
