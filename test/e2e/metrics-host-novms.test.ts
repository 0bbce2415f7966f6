// Issue 10 "host_reachable for a hypervisor with no VMs": a real daemon process whose policy has one
// hypervisor with a VM and one with none (both ssh to closed loopback ports, so no lab), scraped over
// HTTP: vmbackup_host_reachable has a sample for each, so HypervisorUnreachable can fire for both.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestRepo } from '../helpers/git-repo.js';
import { offlineFleetRepo } from '../helpers/offline-fleet.js';
import { startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';

describe('host_reachable covers every hypervisor of the policy', () => {
  let root = '';
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-metrics-hosts-'));
    ({ repo } = await offlineFleetRepo(root, { hypervisors: ['hv-busy', 'hv-empty'] }));
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
