// Fault: vmbackup is SIGKILLed while its own streaming writer copies a local VM's disk (no
// qemu-img child to orphan: the copy dies with the process). The VM is left on its overlay, a
// `.partial` holds a truncated image, the lock names a dead pid. The next backup must recover it
// all and publish a good backup written by the streaming writer; the earlier backup stays intact.
// The copy is caught mid-way by polling the growing image and SIGSTOPping the process at once,
// so the kill lands inside the copy however fast the machine is.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import { assertInvariants, blockSources, cloneVm, faultEnv, faultsLock, findPartials, goodBackup, publishedIds, repairLab, runJson, sleep, waitFor } from '../helpers/faults.js';
import type { Manifest } from '../../src/core/manifest.js';

const OVERLAY_RE = /\.vmbackup-(\d{4}-\d{2}-\d{2}-\d{6})\.overlay\.qcow2$/;

describe('faults: process killed mid-copy by the streaming writer', () => {
  let release: (() => Promise<void>) | undefined;
  before(async () => { release = await faultsLock(); });
  after(async () => { await release?.(); });

  test('SIGKILL while the image streams, then `vmbackup backup`: overlay committed, .partial removed, lock taken over, new backup streamed and good', { timeout: 180_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    // 384 MiB of data: long enough to be caught mid-copy, small enough for the shared lab storage.
    const vm = await cloneVm(lab, 'stream-kill', { pattern: [{ byte: '0xe7', offset: '0', length: '384M' }, { byte: '0x5a', offset: '700M', length: '1M' }] });
    const env = await faultEnv(lab, { extraVms: [vm.policy()] });
    t.after(async () => { await repairLab(env, [vm.ref]); await env.cleanup(); await vm.cleanup(); });
    const prev = await goodBackup(env, vm.name);
    const pm = JSON.parse(await readFile(join(env.backupPath(vm.name, prev), 'backup-metadata.json'), 'utf8')) as Manifest;
    assert.equal(pm.files.find((f) => f.target === 'vda')?.writer, 'stream', 'a local running VM is copied by the streaming writer');
    const full = pm.files.find((f) => f.target === 'vda')!.size_bytes;
    await sleep(1100);

    const proc = env.spawn(['backup', vm.name, '--json']);
    let caughtAt = 0;
    await waitFor('the streaming copy to be under way', async () => {
      for (const p of await findPartials(env.storage)) {
        const s = await stat(join(p, `${vm.name}-vda.qcow2`)).catch(() => undefined);
        if (s && s.size > 0) { proc.kill('SIGSTOP'); caughtAt = (await stat(join(p, `${vm.name}-vda.qcow2`))).size; return true; }
      }
      return undefined;
    }, 60_000, 5);
    const overlay = (await blockSources(lab, 'local', vm.name)).get('vda') ?? '';
    proc.kill('SIGKILL');
    const r0 = await proc;
    assert.equal(r0.signal, 'SIGKILL');
    t.diagnostic(`stopped with ${caughtAt} of ${full} bytes written; vda on ${overlay}`);
    assert.ok(caughtAt < full, `caught mid-copy (${caughtAt} < ${full})`);
    assert.match(overlay, OVERLAY_RE, 'the VM runs on the overlay while the copy runs');
    const [partial] = await findPartials(env.storage);
    assert.ok(partial, 'the killed run left its .partial');
    assert.deepEqual(await publishedIds(env, vm.name), [prev], 'the truncated image is not published');
    await sleep(1100);

    const r = await env.cli(['backup', vm.name, '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr.slice(-3000)}`);
    const run = runJson(r);
    const w = run.warnings.join('\n');
    assert.match(w, new RegExp(`took over the lock of a dead run \\(pid ${proc.pid}`));
    assert.ok(run.warnings.some((x) => x.startsWith('recovered: committed leftover overlay') && x.includes(overlay)), w);
    assert.match(w, /recovered: removed unfinished backup \d{4}-\d{2}-\d{2}-\d{6}\.partial/);
    assert.doesNotMatch(w, /orphaned copy process/, 'the streaming writer leaves no child behind');
    await assertInvariants(env, { vms: [vm.ref], verify: [{ vm: vm.name, id: prev }, { vm: vm.name, id: run.backupId! }] });
    assert.deepEqual(await publishedIds(env, vm.name), [prev, run.backupId!].sort());
    const m = JSON.parse(await readFile(join(env.backupPath(vm.name, run.backupId!), 'backup-metadata.json'), 'utf8')) as Manifest;
    assert.equal(m.files.find((f) => f.target === 'vda')?.writer, 'stream');
    const state = JSON.parse(await readFile(join(env.stateDir, 'state.json'), 'utf8')) as { runs: { pid: number; status: string }[] };
    assert.equal(state.runs.find((x) => x.pid === proc.pid)?.status, 'interrupted');
  });
});
