// Metrics that fill: a real daemon process, its hypervisor unreachable (ssh to a closed loopback
// port, so no lab), scraped over HTTP. Every declared family has samples, per-VM counters exist at
// 0, a VM that leaves the repo loses its series, and promtool accepts the scrape.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { commitAndPush, makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';
import { freePort } from '../helpers/bacula.js'; // a loopback port nothing listens on
import { METRICS, METRIC_NAMES } from '../../src/adapters/http/metrics-registry.js';

async function hasPromtool(): Promise<boolean> {
  return (await execa('promtool', ['--version'], { reject: false })).exitCode === 0;
}

/** name{labels} → value, for every sample line. */
function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}
const family = (s: Map<string, number>, name: string): string[] => [...s.keys()].filter((k) => k === name || k.startsWith(`${name}{`) || k.startsWith(`${name}_bucket{`) || k === `${name}_count`);

const fleet = (storage: string, root: string, port: number, vms: string[]): string => [
  'settings:',
  `  storage_root: ${storage}`,
  '  scheduler: cron',
  `  ssh: { control_dir: ${join(root, 'ssh')}, connect_timeout_seconds: 2 }`,
  'hypervisors:',
  `  - { name: hv-gone, address: 127.0.0.1, ssh: { user: root, port: ${port} }, storage_root: ${storage} }`,
  'vms:',
  ...vms.map((v) => `  - { name: ${v}, hypervisor: hv-gone, schedule: weekly, retention: { keep_last: 3 } }`),
  '',
].join('\n');

describe('a live daemon scrape', () => {
  let root = '';
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;
  let storage = '';
  let port = 0;
  const scrape = async (): Promise<string> => { const r = await fetch(`${d!.url}/metrics`); assert.equal(r.status, 200); return r.text(); };
  const done = () => (d!.logs().match(/"msg":"reconcile done"/g) ?? []).length;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-metrics-'));
    storage = join(root, 'storage');
    await mkdir(storage, { recursive: true });
    const src = join(root, 'seed');
    await mkdir(src, { recursive: true });
    port = await freePort();
    await writeFile(join(src, 'fleet.yaml'), fleet(storage, root, port, ['app-01', 'db-01']));
    repo = await makeRepo(src);
    d = await startDaemon(repo.bare, join(root, 'state'));
    await waitFor('first reconcile', async () => done() >= 1, 60_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
  });
  after(async () => { await d?.stop().catch(() => undefined); await repo?.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('every declared family has samples; per-VM counters start at 0; host unreachable is 0', async () => {
    const text = await scrape();
    const s = samples(text);
    // The last-success gauges of a VM that never succeeded are absent by design (VmBackupNeverSucceeded is `vm_info unless` them),
    // and so are a pause's end time and the window gauge of VMs with no pause or window.
    const lastSuccess = new Set(['vmbackup_backup_last_success_timestamp_seconds', 'vmbackup_backup_duration_seconds', 'vmbackup_backup_size_bytes', 'vmbackup_vm_paused_until_timestamp_seconds', 'vmbackup_vm_window_open']);
    for (const name of METRIC_NAMES.filter((n) => !lastSuccess.has(n))) assert.ok(family(s, name).length > 0, `${name} (${METRICS[name].type}) has no sample:\n${text}`);
    assert.equal(s.get('vmbackup_host_reachable{hypervisor="hv-gone"}'), 0);
    for (const vm of ['app-01', 'db-01']) {
      assert.equal(s.get(`vmbackup_vm_info{hypervisor="hv-gone",policy="",vm="${vm}"}`), 1, text);
      assert.equal(s.get(`vmbackup_vm_ready{vm="${vm}"}`), 0);
      assert.equal(s.get(`vmbackup_backup_success_total{vm="${vm}"}`), 0);
      assert.equal(s.get(`vmbackup_backup_failure_total{vm="${vm}"}`), 0);
      assert.equal(s.get(`vmbackup_vm_paused{hypervisor="hv-gone",vm="${vm}"}`), 0);
    }
    assert.ok((s.get('vmbackup_storage_size_bytes') ?? 0) > 0, 'storage size from the temp storage_root');
    const ratio = s.get('vmbackup_storage_used_ratio') ?? -1;
    assert.ok(ratio >= 0 && ratio <= 1, `ratio ${ratio}`);
    assert.ok((s.get('process_resident_memory_bytes') ?? 0) > 0, 'process metrics');
    assert.ok(s.has('process_cpu_seconds_total') && s.has('nodejs_eventloop_lag_p99_seconds'));
  });

  test('promtool check metrics accepts the scrape', async (t) => {
    if (!(await hasPromtool())) {
      if (process.env.CI === 'true') assert.fail('promtool is missing (test/setup.sh installs the prometheus package)');
      t.skip('promtool not installed'); return;
    }
    const r = await execa('promtool', ['check', 'metrics'], { input: await scrape(), reject: false });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
  });

  test('a VM that leaves the repo loses its series', async () => {
    const before = done();
    await commitAndPush(repo!, 'drop db-01', { 'fleet.yaml': fleet(storage, root, port, ['app-01']) });
    await execa('kill', ['-HUP', String(d!.proc.pid)]);
    await waitFor('db-01 series gone', async () => done() > before && !(await scrape()).includes('vm="db-01"'), 60_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-2000)}`); });
    const s = samples(await scrape());
    assert.equal(s.get('vmbackup_backup_failure_total{vm="app-01"}'), 0);
    assert.equal(s.get('vmbackup_vm_info{hypervisor="hv-gone",policy="",vm="app-01"}'), 1);
  });
});
