// Issue 10 "host_reachable for a hypervisor with no VMs": a real daemon process whose policy has one
// hypervisor with a VM and one with none (both ssh to closed loopback ports, so no lab), scraped over
// HTTP: vmbackup_host_reachable has a sample for each, so HypervisorUnreachable can fire for both.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';
import { freePort } from '../helpers/bacula.js'; // a loopback port nothing listens on

describe('host_reachable covers every hypervisor of the policy', () => {
  let root = '';
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-metrics-hosts-'));
    const storage = join(root, 'storage');
    await mkdir(storage, { recursive: true });
    const src = join(root, 'seed');
    await mkdir(src, { recursive: true });
    const [p1, p2] = [await freePort(), await freePort()];
    await writeFile(join(src, 'fleet.yaml'), [
      'settings:',
      `  storage_root: ${storage}`,
      '  scheduler: cron',
      `  ssh: { control_dir: ${join(root, 'ssh')}, connect_timeout_seconds: 2 }`,
      'hypervisors:',
      `  - { name: hv-busy, address: 127.0.0.1, ssh: { user: root, port: ${p1} }, storage_root: ${storage} }`,
      `  - { name: hv-empty, address: 127.0.0.1, ssh: { user: root, port: ${p2} }, storage_root: ${storage} }`,
      'vms:',
      '  - { name: app-01, hypervisor: hv-busy, schedule: weekly, retention: { keep_last: 3 } }',
      '',
    ].join('\n'));
    repo = await makeRepo(src);
    d = await startDaemon(repo.bare, join(root, 'state'));
    await waitFor('first reconcile', async () => /"msg":"reconcile done"/.test(d!.logs()), 60_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
  });
  after(async () => { await d?.stop().catch(() => undefined); await repo?.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('a hypervisor with no VMs has its host_reachable sample', async () => {
    const r = await fetch(`${d!.url}/metrics`);
    assert.equal(r.status, 200);
    const text = await r.text();
    const lines = text.split('\n').filter((l) => l.startsWith('vmbackup_host_reachable{'));
    assert.deepEqual(lines.sort(), ['vmbackup_host_reachable{hypervisor="hv-busy"} 0', 'vmbackup_host_reachable{hypervisor="hv-empty"} 0'], text);
  });
});
