// The last test-restore in the status files: the probe's evidence and the screenshot's path reach
// status/vms/<vm>.yaml and the README's "Test restores" table (newest first, bounded).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { loadPolicyRepo } from '../../src/core/load.js';
import { planReconcile, DEFAULT_RECONCILE_OPTIONS } from '../../src/core/reconcile/plan.js';
import type { Observed } from '../../src/core/reconcile/types.js';
import { buildStatus, type RunLite } from '../../src/core/status-build.js';
import { README_TEST_RESTORES } from '../../src/core/status-readme.js';
import { renderStatusFiles } from '../../src/core/status-render.js';

const NOW = '2026-12-03T10:00:00Z';
const names = Array.from({ length: 25 }, (_, i) => `vm-${String(i).padStart(2, '0')}`);
const desired = loadPolicyRepo([{ path: 'r.yaml', text: `settings: { time_zone: UTC }\nhypervisors: [{ name: hv1 }]\nvms:\n${names.map((n) => `  - { name: ${n}, hypervisor: hv1, schedule: weekly, retention: { keep_last: 3 } }\n`).join('')}` }]).desired;
const observed: Observed = {
  at: NOW,
  hosts: { hv1: { reachable: true, domains: Object.fromEntries(names.map((n) => [n, 'running'])), leftoverOverlays: {} } },
  storage: Object.fromEntries(names.map((n) => [n, { hypervisor: 'hv1', points: [{ id: '2026-12-01-120000', time: '2026-12-01T12:00:00Z', status: 'ok' as const, verify: 'ok' as const }], partials: [] }])),
  runs: {}, removed: {},
};
const SHOT = '/mnt/backup/hv1/vm-00/2026-12-01-120000/test-restore.png';
const tr = (vm: string, minute: number, ok: boolean): RunLite => ({
  vm, kind: 'test-restore', started: `2026-12-02T08:${String(minute).padStart(2, '0')}:00Z`, status: ok ? 'ok' : 'failed', warnings: [], backupId: '2026-12-01-120000',
  steps: [
    { name: 'restore', ok: true },
    { name: 'probe', ok, detail: ok ? 'console /login:/: console matched /login:/: "vm login:"' : 'agent: agent probe: no evidence within 300s: guest-ping not answered' },
    { name: 'screenshot', ok: true, detail: SHOT.replace('vm-00', vm) },
  ],
});

function render(runs: RunLite[]) {
  const plan = planReconcile(desired, 'rev', observed, NOW, DEFAULT_RECONCILE_OPTIONS);
  const b = buildStatus({ desired, observed, plan, runs, now: NOW, appliedRevision: 'rev', attemptErrors: [] });
  return renderStatusFiles(b.statuses, b.summary, NOW, { timeZone: 'UTC' }).files;
}

describe('test-restore evidence in the status files', () => {
  test('status/vms/<vm>.yaml: result, probe evidence and screenshot path', () => {
    const files = render([tr('vm-00', 1, true), tr('vm-01', 2, false)]);
    const ok = parse(files.get('status/vms/vm-00.yaml')!) as { last_test_restore: Record<string, string> };
    assert.deepEqual(ok.last_test_restore, { time: '2026-12-02T08:01:00Z', backup_id: '2026-12-01-120000', result: 'ok', probe: 'console /login:/: console matched /login:/: "vm login:"', screenshot: SHOT });
    const bad = parse(files.get('status/vms/vm-01.yaml')!) as { last_test_restore: Record<string, string> };
    assert.equal(bad.last_test_restore.result, 'failed');
    assert.match(bad.last_test_restore.probe!, /guest-ping not answered/);
  });

  test('README: a Test restores table, newest first, with the evidence and the screenshot path', () => {
    const readme = render([tr('vm-00', 1, true), tr('vm-01', 2, false)]).get('status/README.md')!;
    const section = readme.slice(readme.indexOf('## Test restores'));
    const rows = section.split('\n').filter((l) => l.startsWith('| 2026-'));
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, /^\| 2026-12-02 08:02 \| vm-01 \| 2026-12-01-120000 \| ❌ \*\*failed\*\* \| agent: agent probe: no evidence within 300s: guest-ping not answered \| `\/mnt\/backup\/hv1\/vm-01\/2026-12-01-120000\/test-restore.png` \|$/);
    assert.match(rows[1]!, /^\| 2026-12-02 08:01 \| vm-00 \| .* \| ✅ booted \| console \/login:\/: console matched \/login:\/: "vm login:" \| `\/mnt\/backup\/hv1\/vm-00\//);
  });

  test('bounded: at most README_TEST_RESTORES rows; no section without test-restores', () => {
    const readme = render(names.map((n, i) => tr(n, i, true))).get('status/README.md')!;
    const rows = readme.slice(readme.indexOf('## Test restores')).split('\n').filter((l) => l.startsWith('| 2026-'));
    assert.equal(rows.length, README_TEST_RESTORES);
    assert.match(rows[0]!, /\| vm-24 \|/);
    assert.match(readme, /5 older ones are in `status\/vms\/<vm>\.yaml`/);
    assert.doesNotMatch(render([]).get('status/README.md')!, /## Test restores/);
  });
});
