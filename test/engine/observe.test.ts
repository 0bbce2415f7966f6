// Batched observation against the lab: two remote commands per hypervisor, however many VMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicyRepo } from '../../src/core/load.js';
import { readPolicyFilesFromDir } from '../../src/adapters/policy-files.js';
import type { Transport } from '../../src/adapters/transport/transport.js';
import { defaultTransport, Hosts } from '../../src/engine/hosts.js';
import { observeHost } from '../../src/engine/observe-host.js';
import { labEnv, labOrSkip } from '../helpers/lab.js';

test('observeHost: O(1) remote commands per hypervisor, states and disks of every managed VM', async (t) => {
  const lab = labOrSkip(t);
  if (!lab) return;
  const env = await labEnv(lab);
  const counts = new Map<string, number>();
  const counting = (inner: Transport): Transport => ({
    kind: inner.kind, host: inner.host, close: () => inner.close(),
    run: (argv, o) => { counts.set(inner.host, (counts.get(inner.host) ?? 0) + 1); return inner.run(argv, o); },
  });
  const d = loadPolicyRepo(await readPolicyFilesFromDir(env.repo)).desired;
  const hosts = new Hosts(d, (hv, desired) => counting(defaultTransport(hv, desired)));
  try {
    for (const hv of d.hypervisors) {
      const names = d.vms.filter((v) => v.hypervisor === hv.name).map((v) => v.name);
      const o = await observeHost(hosts.get(hv.name), names);
      assert.equal(o.reachable, true, o.error);
      assert.deepEqual([...o.details.keys()].sort(), names.sort());
      for (const n of names) assert.ok(o.details.get(n)!.disks.length >= 1);
      assert.equal(counts.get(hv.name), 2, `${hv.name}: remote commands`);
    }
    assert.equal((await observeHost(hosts.get('hv2'), ['hv2-vm1', 'hv2-vm2'])).domains.get('hv2-vm2'), 'shut off');
  } finally {
    await hosts.closeAll();
    await env.cleanup();
  }
});
