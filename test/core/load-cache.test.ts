import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLoadCache, formatDiagnostic, loadPolicyRepo, type PolicyFileText } from '../../src/core/load.js';
import { parseYamlFile, positionOf } from '../../src/core/yaml-source.js';

const files = (m: Record<string, string>): PolicyFileText[] => Object.entries(m).map(([path, text]) => ({ path, text }));

const BASE = {
  'hypervisors.yaml': 'hypervisors:\n  - name: hv1\n  - { name: hv2, ssh: { port: 2222 } }\n',
  'policies.yaml': 'policies:\n  - name: std\n    schedule: weekly\n    retention: { keep_last: 3 }\n',
  'settings.yaml': 'settings:\n  scheduler: cron\n  default_policy: std\n',
  // Shared by both revisions and full of problems: schema errors, a literal secret, a duplicate.
  'vms/bad.yaml': 'vms:\n  - name: x\n    hypervisor: hv1\n    retention_week: 8\n    description: "see https://hooks.slack.com/services/T0/B0/XXXX"\n  - { name: y, hypervisor: hv9, priority: 1.5 }\n',
  'vms/a.yaml': 'vms:\n  - name: a1\n    hypervisor: hv1\n  - name: x\n    hypervisor: hv2\n',
};
const HEAD = { ...BASE, 'vms/a.yaml': 'vms:\n  - name: a1\n    hypervisor: hv2\n    schedule: "0 3 * * *"\n', 'vms/new.yaml': 'vms:\n  - { name: n1, hypervisor: hv1, policy: gold }\n' };

describe('loadPolicyRepo with a shared cache (plan loads two revisions)', () => {
  test('results are exactly those of loads without a cache, whichever revision loads first', () => {
    for (const order of [[BASE, HEAD], [HEAD, BASE]] as const) {
      const cache = createLoadCache();
      const first = loadPolicyRepo(files(order[0]), cache);
      const second = loadPolicyRepo(files(order[1]), cache);
      assert.deepEqual(first, loadPolicyRepo(files(order[0])));
      assert.deepEqual(second, loadPolicyRepo(files(order[1])));
    }
  });

  test('the diagnostics of a shared file keep their file:line:col in both loads', () => {
    const cache = createLoadCache();
    // Cross-file rules (the duplicate "x") legitimately differ; the file's own diagnostics must not.
    const lines = (m: Record<string, string>): string[] => loadPolicyRepo(files(m), cache).diagnostics.filter((d) => d.file === 'vms/bad.yaml' && d.code !== 'VMB_DUPLICATE_NAME').map(formatDiagnostic);
    const base = lines(BASE);
    assert.deepEqual(lines(HEAD), base);
    assert.ok(base.some((l) => l.startsWith('vms/bad.yaml:4:5: error: vms[0].retention_week: unknown key')), base.join('\n'));
    assert.ok(base.some((l) => l.startsWith('vms/bad.yaml:5:18: error: vms[0].description: looks like a Slack webhook URL')), base.join('\n'));
    assert.ok(base.some((l) => l.startsWith('vms/bad.yaml:6:43: error: vms[1].priority: must be integer')), base.join('\n'));
  });

  test('a file is reused only when its text is identical', () => {
    const cache = createLoadCache();
    loadPolicyRepo(files(BASE), cache);
    const before = cache.files.get('vms/bad.yaml');
    const a = cache.files.get('vms/a.yaml');
    loadPolicyRepo(files(HEAD), cache);
    assert.equal(cache.files.get('vms/bad.yaml'), before);
    assert.notEqual(cache.files.get('vms/a.yaml'), a);
    assert.equal(cache.files.get('vms/a.yaml')!.text, HEAD['vms/a.yaml']);
  });
});

describe('parseYamlFile: lazy positions', () => {
  const text = 'settings:\n  scheduler: cron\n  notifications: { slack: { channel: x } }\nvms:\n  - name: a\n    hypervisor: hv1\n  - { name: b, disks: { include: [vda, vdb] } }\n';

  test('the Document is not kept; list items and settings keys are known without it', () => {
    const p = parseYamlFile('f.yaml', text).parsed!;
    assert.equal(p.doc, undefined);
    assert.deepEqual(positionOf(p, ['vms', 0]), { line: 5, col: 5 });
    assert.deepEqual(positionOf(p, ['vms', 1]), { line: 7, col: 5 });
    assert.deepEqual(positionOf(p, ['settings', 'notifications'], true), { line: 3, col: 3 });
    assert.equal(p.doc, undefined, 'eager positions need no re-parse');
  });

  test('deeper positions re-parse the file once, on demand', () => {
    const p = parseYamlFile('f.yaml', text).parsed!;
    assert.deepEqual(positionOf(p, ['vms', 1, 'disks', 'include', 1]), { line: 7, col: 40 });
    const doc = p.doc;
    assert.ok(doc);
    assert.deepEqual(positionOf(p, ['vms', 0, 'hypervisor'], true), { line: 6, col: 5 });
    assert.deepEqual(positionOf(p, ['settings', 'notifications', 'slack', 'channel']), { line: 3, col: 38 });
    assert.deepEqual(positionOf(p, ['vms', 0, 'nope']), { line: 5, col: 5 }, 'a missing key points at its mapping');
    assert.equal(p.doc, doc);
  });
});
