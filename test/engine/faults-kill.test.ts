// Fault: the vmbackup process is SIGKILLed in the middle of a copy (OOM killer, reboot of the
// control host, an operator's kill -9). The VM is left running on its overlay, a `.partial`
// directory and an orphaned qemu-img remain, and the lock names a dead pid. The next `backup`
// (or `cleanup`) must recover all of it: stop the orphan, commit the overlay, delete it and the
// `.partial`, take the lock over, and report every action as a warning.
// Also: a second backup of a VM that is being backed up exits 75 ("is busy"), also when it comes
// from another vmbackup with its own state dir.
// The copy is slowed with a rate-limited qemu-img first on PATH (local transport only, with
// settings.backup.image_writer: qemu-img): the real copy runs, just slowly enough to be killed
// mid-way. faults-stream.test.ts kills vmbackup's own streaming writer. The local tests use a private clone
// of lab-noos (cloneNoos), so nobody else's backups of lab-noos can collide with them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import {
  assertInvariants, blockSources, cloneBig, cloneNoos, convertsInto, faultEnv, faultsLock, findPartials, goodBackup, publishedIds, repairLab,
  runJson, scratchDir, scratchVmPolicy, sleep, slowQemuImg, virsh, waitFor, type FaultEnv,
} from '../helpers/faults.js';
import type { Lab } from '../lab/lab.js';

const OVERLAY_RE = /\.vmbackup-(\d{4}-\d{2}-\d{2}-\d{6})\.overlay\.qcow2$/;

/** Starts a slowed backup, waits until its copy has written data, SIGKILLs it; returns what it left. */
async function killMidCopy(lab: Lab, env: FaultEnv, vm: string, slow: Record<string, string>): Promise<{ partial: string; overlay: string; pid: number }> {
  const proc = env.spawn(['backup', vm, '--json'], { env: slow });
  const partial = await waitFor('the copy to be under way', async () => {
    for (const p of await findPartials(env.storage)) {
      const s = await stat(join(p, `${vm}-vda.qcow2`)).catch(() => undefined);
      if (s && s.size > 512 * 1024) return p;
    }
    return undefined;
  }, 30_000, 100);
  const overlay = (await blockSources(lab, 'local', vm)).get('vda') ?? '';
  assert.match(overlay, OVERLAY_RE, 'the VM runs on the overlay while the copy runs');
  proc.kill('SIGKILL');
  const r = await proc;
  assert.equal(r.signal, 'SIGKILL');
  // What a killed run leaves behind (this is what recovery is for).
  assert.equal((await blockSources(lab, 'local', vm)).get('vda'), overlay, 'after the kill the VM still runs on the overlay');
  assert.deepEqual(await findPartials(env.storage), [partial]);
  assert.ok((await convertsInto([env.storage])).length > 0, 'the orphaned qemu-img copy is still running');
  const lock = JSON.parse(await readFile(join(env.stateDir, 'locks', `${vm}.lock`), 'utf8')) as { pid: number };
  assert.equal(lock.pid, proc.pid, 'the lock names the killed process');
  return { partial, overlay, pid: proc.pid! };
}

describe('faults: process killed mid-copy, concurrent runs', () => {
  let release: (() => Promise<void>) | undefined;
  before(async () => { release = await faultsLock(); });
  after(async () => { await release?.(); });

  test('SIGKILL mid-copy, then `vmbackup backup`: leftovers recovered (orphan stopped, overlay committed and deleted, .partial removed, lock taken over), new backup good', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const noos = await cloneNoos(lab, 'kill');
    const VM = noos.name;
    const dir = await scratchDir('kill');
    const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(VM)], imageWriter: 'qemu-img' });
    t.after(async () => { await repairLab(env, [noos.ref]); await env.cleanup(); await noos.cleanup(); await rm(dir, { recursive: true, force: true }); });
    const prev = await goodBackup(env, VM);
    await sleep(1100);
    const left = await killMidCopy(lab, env, VM, await slowQemuImg(dir, '1M'));
    const killedId = /(\d{4}-\d{2}-\d{2}-\d{6})\.partial$/.exec(left.partial)![1]!;
    await sleep(1100);

    const r = await env.cli(['backup', VM, '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr.slice(-3000)}`);
    const run = runJson(r);
    const w = run.warnings.join('\n');
    t.diagnostic(`warnings of the recovering run: ${JSON.stringify(run.warnings)}`);
    assert.match(w, new RegExp(`took over the lock of a dead run \\(pid ${left.pid}`));
    assert.match(w, /recovered: stopped orphaned copy process/);
    assert.ok(run.warnings.some((x) => x.startsWith('recovered: committed leftover overlay') && x.includes(left.overlay) && x.includes(noos.image)), w);
    assert.match(w, new RegExp(`recovered: removed unfinished backup ${killedId}\\.partial`));
    await assertInvariants(env, { vms: [noos.ref], verify: [{ vm: VM, id: prev }, { vm: VM, id: run.backupId! }] });
    assert.deepEqual(await publishedIds(env, VM), [prev, run.backupId!].sort());
    await assert.rejects(stat(left.overlay), 'the overlay file is gone');

    await t.test('the killed run is recorded as interrupted in the run history, not as running forever', async () => {
      const state = JSON.parse(await readFile(join(env.stateDir, 'state.json'), 'utf8')) as { runs: { id: string; pid: number; status: string }[] };
      const killed = state.runs.find((x) => x.pid === left.pid);
      assert.ok(killed, 'the killed run was recorded when it started');
      assert.equal(killed.status, 'interrupted', `run ${killed.id} of the SIGKILLed pid ${left.pid} is still "${killed.status}" after another run took over its lock`);
    });
  });

  test('SIGKILL mid-copy, then `vmbackup cleanup`: same recovery, then a backup with nothing left to recover', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const noos = await cloneNoos(lab, 'kcln');
    const VM = noos.name;
    const dir = await scratchDir('kill-cleanup');
    const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(VM)], imageWriter: 'qemu-img' });
    t.after(async () => { await repairLab(env, [noos.ref]); await env.cleanup(); await noos.cleanup(); await rm(dir, { recursive: true, force: true }); });
    const prev = await goodBackup(env, VM);
    await sleep(1100);
    // 256 KiB/s: the orphaned copy must still run when `cleanup` looks (at 1 MiB/s a loaded CI machine once let it finish first).
    const left = await killMidCopy(lab, env, VM, await slowQemuImg(dir, '256K'));

    const c = await env.cli(['cleanup', VM]);
    assert.equal(c.code, 0, `${c.stdout}\n${c.stderr.slice(-3000)}`);
    assert.match(c.stdout, new RegExp(`cleanup of ${VM}: cleaned`));
    assert.match(c.stdout, /done: stopped orphaned copy process/);
    assert.match(c.stdout, /done: committed leftover overlay/);
    assert.match(c.stdout, /done: removed unfinished backup \d{4}-\d{2}-\d{2}-\d{6}\.partial/);
    await assertInvariants(env, { vms: [noos.ref], verify: [{ vm: VM, id: prev }] });
    await assert.rejects(stat(left.overlay));

    const again = await env.cli(['cleanup', VM]);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr.slice(-2000)}`);
    assert.match(again.stdout, /nothing to do/);
    await sleep(1100);
    const r = await env.cli(['backup', VM, '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr.slice(-3000)}`);
    assert.deepEqual(runJson(r).warnings.filter((x) => x.startsWith('recovered:')), [], 'nothing left to recover after cleanup');
    await assertInvariants(env, { vms: [noos.ref], verify: [{ vm: VM, id: prev }, { vm: VM, id: runJson(r).backupId! }] });
  });

  test('SIGKILL right after the copy, before the blockcommit, over ssh (80 MiB VM on hv2): the next backup recovers', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const big = await cloneBig(lab, 'kill');
    const vm = big.name;
    const env = await faultEnv(lab, { extraVms: [big.policy()] });
    t.after(async () => { await repairLab(env, [big.ref]); await env.cleanup(); await big.cleanup(); });
    const prev = await goodBackup(env, vm);
    await sleep(1100);
    // No slow qemu-img on a remote host: watch for the moment the copy has ended (image written,
    // no convert running) and the run goes on to hash and commit, and kill it there.
    const proc = env.spawn(['backup', vm, '--json']);
    let killedAt = '';
    await waitFor('the copy to end', async () => {
      const [p] = await findPartials(env.storage);
      if (!p) return undefined;
      const size = await stat(join(p, `${vm}-vda.qcow2`)).then((s) => s.size, () => 0);
      if (size === 0 || (await convertsInto([env.storage, env.remoteStorage])).length) return undefined;
      proc.kill('SIGKILL');
      killedAt = p;
      return true;
    }, 30_000, 20).catch(() => undefined);
    const r0 = await proc;
    if (r0.signal !== 'SIGKILL') { t.skip(`the run finished (exit ${r0.exitCode}) before it could be killed`); return; }
    const src = (await blockSources(lab, big.host, vm)).get('vda') ?? '';
    const job = await virsh(lab, big.host, ['blockjob', '--domain', vm, '--path', 'vda', '--info']);
    t.diagnostic(`killed with ${killedAt} present; vda on ${src}; blockjob: ${(job.stdout + job.stderr).trim()}`);

    const r = await env.cli(['backup', vm, '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr.slice(-3000)}`);
    const run = runJson(r);
    t.diagnostic(`recovering run warnings: ${JSON.stringify(run.warnings)}`);
    assert.match(run.warnings.join('\n'), /took over the lock of a dead run/);
    if (OVERLAY_RE.test(src)) assert.ok(run.warnings.some((w) => w.startsWith('recovered: committed leftover overlay')), JSON.stringify(run.warnings));
    await assertInvariants(env, { vms: [big.ref], verify: [{ vm, id: prev }, { vm, id: run.backupId! }] });
  });

  test('a second backup (and a cleanup) of a VM being backed up exits 75 "is busy" and touches nothing', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const noos = await cloneNoos(lab, 'busy');
    const VM = noos.name;
    const dir = await scratchDir('busy');
    const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(VM)], imageWriter: 'qemu-img' });
    t.after(async () => { await repairLab(env, [noos.ref]); await env.cleanup(); await noos.cleanup(); await rm(dir, { recursive: true, force: true }); });
    const first = env.spawn(['backup', VM, '--json'], { env: await slowQemuImg(dir, '512K') }); // ~10 s of copying
    const partial = await waitFor('the first backup to be copying', async () => (await findPartials(env.storage))[0], 30_000, 100);

    for (const args of [['backup', VM], ['cleanup', VM]]) {
      const r = await env.cli(args);
      assert.equal(r.code, 75, `${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr.slice(-2000)}`);
      assert.match(r.stderr, new RegExp(`${VM} is busy: backup of ${VM} has been running since \\S+ \\(pid ${first.pid} `));
      assert.deepEqual(await findPartials(env.storage), [partial], `${args[0]} left the running backup alone`);
      assert.equal((await convertsInto([env.storage])).length, 1, `${args[0]} did not stop the running copy`);
    }
    const r1 = await first;
    assert.equal(r1.exitCode, 0, `${String(r1.stdout)}\n${String(r1.stderr).slice(-3000)}`);
    const id = (JSON.parse(String(r1.stdout)) as { backupId: string }).backupId;
    assert.deepEqual(await publishedIds(env, VM), [id]);
    await assertInvariants(env, { vms: [noos.ref], verify: [{ vm: VM, id }] });
  });

  test('a second vmbackup with its own state dir (same storage, same VM) must not "recover" a backup that is still running', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const noos = await cloneNoos(lab, 'two');
    const VM = noos.name;
    const dir = await scratchDir('two-instances');
    const a = await faultEnv(lab, { extraVms: [scratchVmPolicy(VM)], imageWriter: 'qemu-img' });
    // Another control-host process (a manual run with another --state-dir, a second director):
    // its lock is elsewhere, the storage and the hypervisor are the same.
    const b = await faultEnv(lab, {
      extraVms: [scratchVmPolicy(VM)], imageWriter: 'qemu-img',
      mutate: (p) => {
        p.settings.storage_root = a.storage;
        for (const h of p.hypervisors) h.storage_root = h.transport === 'local' ? a.storage : a.remoteStorage;
      },
    });
    t.after(async () => { await repairLab(a, [noos.ref]); await repairLab(b, [noos.ref]); await a.cleanup(); await b.cleanup(); await noos.cleanup(); await rm(dir, { recursive: true, force: true }); });
    const first = a.spawn(['backup', VM, '--json'], { env: await slowQemuImg(dir, '512K') }); // ~10 s of copying
    const partial = await waitFor('the first backup to be copying', async () => (await findPartials(a.storage))[0], 30_000, 100);
    await sleep(500);

    const second = await b.cli(['backup', VM, '--json']);
    const r1 = await first;
    const firstRun = JSON.parse(String(r1.stdout)) as { status: string; error?: string; backupId?: string };
    t.diagnostic(`second: exit ${second.code}, ${(second.stderr.match(/^vmbackup: .*$/m)?.[0] ?? second.stdout).slice(0, 400)}; first: exit ${r1.exitCode}, ${firstRun.error ?? firstRun.status}`);
    assert.equal(r1.exitCode, 0, `the running backup was wrecked by the second instance's "recovery" (its copy stopped, its overlay committed under it): ${firstRun.error ?? ''}`);
    assert.equal(second.code, 75, `the second instance must say the VM is busy (exit 75), not ${second.code}:\n${second.stdout.slice(0, 1500)}`);
    assert.match(second.stderr, new RegExp(`${VM} is busy: backup of ${VM} has been running since`));
    assert.deepEqual(await findPartials(a.storage), [], `${partial} was published or cleaned by its owner`);
    await assertInvariants(a, { vms: [noos.ref], verify: [{ vm: VM, id: firstRun.backupId! }] });
  });
});
