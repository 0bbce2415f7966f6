// Fault: a hypervisor cannot be reached. The policy repo points hv1 at a closed port on
// 127.0.0.1 (connection refused; no traffic leaves the machine). A backup of hv1-vm1 fails fast
// with a clear "unreachable" error and exit 1; VMs on other hosts in the same repo are backed up
// all the same, also within one `--schedule` run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { labOrSkip } from '../helpers/lab.js';
import { assertInvariants, cloneBig, cloneNoos, faultEnv, faultsLock, publishedIds, repairLab, runJson, waitQuiet, type RunJson } from '../helpers/faults.js';
import type { Lab } from '../lab/lab.js';

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

async function unreachableHv1Env(lab: Lab, extra: Parameters<typeof faultEnv>[1] = {}) {
  const port = await closedPort();
  return faultEnv(lab, {
    ...extra,
    mutate: (p) => {
      const hv1 = p.hypervisors.find((h) => h.name === 'hv1')!;
      hv1.address = '127.0.0.1';
      (hv1.ssh as Record<string, unknown>).port = port;
      extra.mutate?.(p);
    },
  });
}

describe('faults: unreachable hypervisor', () => {
  let release: (() => Promise<void>) | undefined;
  before(async () => { release = await faultsLock(); });
  after(async () => { await release?.(); });

  test('backup hv1-vm1 with hv1 unreachable: fast, clear "unreachable" error, exit 1; a VM on hv2 in the same repo still backs up', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const big = await cloneBig(lab, 'reach');
    const env = await unreachableHv1Env(lab, { extraVms: [big.policy()] });
    t.after(async () => { await repairLab(env, ['hv1-vm1', big.ref]); await env.cleanup(); await big.cleanup(); });
    await waitQuiet(env, ['hv1-vm1']);

    const r = await env.cli(['backup', 'hv1-vm1', '--json']);
    t.diagnostic(`failed in ${r.ms.toFixed(0)} ms: ${runJson(r).error ?? ''}`);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr.slice(-2000)}`);
    assert.ok(r.ms < 15_000, `took ${r.ms.toFixed(0)} ms to notice`);
    const run = runJson(r);
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /^hv1: unreachable: /);
    assert.match(run.error ?? '', /Connection refused/);
    assert.deepEqual(await publishedIds(env, 'hv1-vm1'), []);

    const text = await env.cli(['backup', 'hv1-vm1']);
    assert.equal(text.code, 1, `${text.stdout}\n${text.stderr.slice(-2000)}`);
    assert.match(text.stdout, /^backup hv1-vm1 on hv1: failed.*\n {2}error: hv1: unreachable: /, `the plain-text result says so too:\n${text.stdout}\n${text.stderr.slice(-2000)}`);
    const chk = await env.cli(['check', 'hv1-vm1']);
    assert.equal(chk.code, 1, `${chk.stdout}\n${chk.stderr.slice(-2000)}`);
    assert.match(chk.stdout + chk.stderr, /hv1: unreachable/);
    assert.doesNotMatch(chk.stderr, /\n\s+at /, 'no stack trace');

    const ok = await env.cli(['backup', big.name, '--json']);
    assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr.slice(-2000)}`);
    await assertInvariants(env, { vms: ['hv1-vm1', big.ref], verify: [{ vm: big.name, id: runJson(ok).backupId! }] });
  });

  test('one --schedule run: hv1-vm1 (first in priority) fails unreachable, a VM on hv2 and one on local are still backed up, exit 1', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const noos = await cloneNoos(lab, 'sched');
    const big = await cloneBig(lab, 'sched');
    const env = await unreachableHv1Env(lab, {
      extraVms: [noos.policy(), big.policy()],
      mutate: (p) => {
        for (const v of p.vms) {
          if (v.name === 'hv1-vm1') v.priority = 1;
          else if (v.name !== big.name && v.name !== noos.name) v.enabled = false;
        }
      },
    });
    t.after(async () => { await repairLab(env, ['hv1-vm1', big.ref, noos.ref]); await env.cleanup(); await noos.cleanup(); await big.cleanup(); });
    await waitQuiet(env, ['hv1-vm1']);

    const r = await env.cli(['backup', '--schedule', 'weekly', '--json']);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr.slice(-2000)}`);
    const runs = JSON.parse(r.stdout) as RunJson[];
    const by = new Map(runs.map((x) => [(x as RunJson & { vm: string }).vm, x]));
    assert.deepEqual([...by.keys()].sort(), ['hv1-vm1', big.name, noos.name].sort());
    assert.equal(by.get('hv1-vm1')!.status, 'failed');
    assert.match(by.get('hv1-vm1')!.error ?? '', /hv1: unreachable/);
    assert.equal(by.get(big.name)!.status, 'ok', by.get(big.name)!.error);
    assert.equal(by.get(noos.name)!.status, 'ok', by.get(noos.name)!.error);
    await assertInvariants(env, {
      vms: ['hv1-vm1', big.ref, noos.ref],
      verify: [{ vm: big.name, id: by.get(big.name)!.backupId! }, { vm: noos.name, id: by.get(noos.name)!.backupId! }],
    });
  });
});
