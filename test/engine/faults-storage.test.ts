// Fault: the backup storage is (or becomes) full. The lab's 64 MiB tmpfs is the storage; a
// previous backup of a small VM (a private clone of lab-noos, ~5 MiB) lives there first.
// Whatever fails, no `.partial` and no new backup directory may remain, the VM is back on its
// base, and the previous backup still verifies. A real ENOSPC in the middle of a copy needs the
// space to go while the copy runs (a concurrent writer on the share): once the pre-check measures
// what the copy writes (qemu-img measure), a static filler can no longer get past it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, statfs, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import {
  assertInvariants, cloneBig, cloneNoos, defineScratchVm, faultEnv, faultsLock, findPartials, goodBackup, listDir, publishedIds, repairLab, runJson,
  scratchDir, scratchVmPolicy, sh, sleep, slowQemuImg, waitFor, type FaultEnv, type ScratchVm,
} from '../helpers/faults.js';

const MiB = 1024 * 1024;

async function availBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** A qcow2 whose 24 MiB of data is stored compressed (~0.3 MiB allocated), like many cloud images. */
async function compressedImage(dir: string): Promise<string> {
  const raw = join(dir, 'plain.qcow2');
  const img = join(dir, 'fault-compressed.qcow2');
  for (const argv of [
    ['qemu-img', 'create', '-q', '-f', 'qcow2', raw, '64M'],
    ['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xc3 0 24M', raw],
    ['qemu-img', 'convert', '-c', '-f', 'qcow2', '-O', 'qcow2', raw, img],
  ]) {
    const r = await sh(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  }
  await rm(raw);
  return img;
}

async function allocatedBytes(img: string): Promise<number> {
  const r = await sh(['qemu-img', 'info', '-U', '-f', 'qcow2', '--output=json', img]);
  return (JSON.parse(r.stdout) as { 'actual-size': number })['actual-size'];
}

describe('faults: backup storage full', () => {
  let release: (() => Promise<void>) | undefined;
  before(async () => { release = await faultsLock(); });
  after(async () => { await release?.(); });

  test('pre-check refusal: an 80 MiB VM (like hv2-vm1, over ssh) does not fit the 64 MiB storage; nothing written, previous backup intact', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const noos = await cloneNoos(lab, 'full');
    const big = await cloneBig(lab, 'full');
    const env = await faultEnv(lab, { small: true, extraVms: [noos.policy(), big.policy()] });
    t.after(async () => { await repairLab(env, [noos.ref, big.ref]); await env.cleanup(); await noos.cleanup(); await big.cleanup(); });
    const prev = await goodBackup(env, noos.name);

    const r = await env.cli(['backup', big.name, '--json']);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr.slice(-2000)}`);
    const run = runJson(r);
    assert.match(run.error ?? '', /pre-checks failed: .*backup storage has [\d.]+ \w+ free; this backup needs [\d.]+ \w+/);
    assert.deepEqual(run.steps.filter((s) => !s.ok).map((s) => s.name), ['pre-checks']);
    assert.ok(!run.steps.some((s) => s.name === 'snapshot' || s.name.startsWith('copy-')), 'nothing was snapshotted or copied');
    assert.deepEqual(await listDir(join(env.storage, big.host, big.name)), [], 'no directory of any kind for the refused backup');
    await assertInvariants(env, { vms: [noos.ref, big.ref], verify: [{ vm: noos.name, id: prev }] });
  });

  test('pre-check estimate covers what the copy writes: an image with compressed clusters is refused when its copy cannot fit', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const dir = await scratchDir('compressed-check');
    let vm: ScratchVm | undefined;
    let env: FaultEnv | undefined;
    const filler = join(lab.storage.smallDir, `faults-filler-${process.pid}-check`);
    t.after(async () => {
      await rm(filler, { force: true });
      await vm?.remove();
      if (env) await env.cleanup();
      await rm(dir, { recursive: true, force: true });
    });
    const img = await compressedImage(dir);
    vm = await defineScratchVm(lab, 'fault-compressed', img);
    env = await faultEnv(lab, { small: true, extraVms: [scratchVmPolicy('fault-compressed')], backup: { storage_margin_percent: 0 } });
    const allocated = await allocatedBytes(img);
    // Leave room for the allocated size plus 2 MiB; the copy writes 24 MiB of decompressed data.
    const size = (await availBytes(env.storage)) - allocated - 2 * MiB;
    assert.ok(size > 0);
    assert.equal((await sh(['fallocate', '-l', String(size), filler])).code, 0);
    // What the copy will write, measured the way the pre-check could (the image is in use: no locking).
    const measure = await sh(['qemu-img', 'measure', '--image-opts', '-O', 'qcow2', `driver=qcow2,file.driver=file,file.filename=${img.replace(/,/g, ',,')},file.locking=off`]);
    t.diagnostic(`allocated ${allocated} B; free ${await availBytes(env.storage)} B; qemu-img measure: ${measure.stdout.trim().replace(/\n/g, '; ')}`);

    const r = await env.cli(['check', 'fault-compressed']);
    assert.equal(r.code, 1, `pre-checks passed although the copy needs ~24 MiB and ${((await availBytes(env.storage)) / MiB).toFixed(1)} MiB are free (the estimate is the allocated size, ${(allocated / MiB).toFixed(1)} MiB, of a compressed image):\n${r.stdout}`);
    assert.match(r.stdout, /backup storage has .* free; this backup needs/);
  });

  test('compressed image, margin 0, filler leaving only its allocated size: refused up front or ENOSPC mid-copy, cleanly either way; previous backup intact', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const dir = await scratchDir('compressed');
    let vm: ScratchVm | undefined;
    let env: FaultEnv | undefined;
    const filler = join(lab.storage.smallDir, `faults-filler-${process.pid}`);
    const noos = await cloneNoos(lab, 'enospc');
    t.after(async () => {
      await rm(filler, { force: true });
      if (env) await repairLab(env, [noos.ref]);
      await vm?.remove();
      await noos.cleanup();
      if (env) await env.cleanup();
      await rm(dir, { recursive: true, force: true });
    });
    const img = await compressedImage(dir);
    vm = await defineScratchVm(lab, 'fault-compressed', img);
    env = await faultEnv(lab, { small: true, extraVms: [scratchVmPolicy('fault-compressed'), scratchVmPolicy(noos.name)], backup: { storage_margin_percent: 0 } });
    const prev = await goodBackup(env, noos.name);

    const allocated = await allocatedBytes(img);
    const size = (await availBytes(env.storage)) - allocated - 2 * MiB;
    assert.equal((await sh(['fallocate', '-l', String(size), filler])).code, 0);
    const r = await env.cli(['backup', 'fault-compressed', '--json']);
    const run = runJson(r);
    t.diagnostic(`allocated ${allocated} B, left ${allocated + 2 * MiB} B free; exit ${r.code}; steps ${run.steps.map((s) => `${s.name}${s.ok ? '' : '!'}`).join(' ')}; error: ${run.error ?? ''}`);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr.slice(-2000)}`);
    // Refused up front (a better estimate) or failed mid-copy: both clean, nothing published.
    const failed = run.steps.filter((s) => !s.ok).map((s) => s.name);
    if (failed.includes('pre-checks')) {
      assert.match(run.error ?? '', /backup storage has/);
    } else {
      assert.ok(failed.includes('copy-vda'), `expected the copy to fail, failed steps: ${failed.join(', ')}`);
      assert.match(run.error ?? '', /No space left on device/);
      assert.ok(run.steps.some((s) => s.name === 'blockcommit' && s.ok), 'the overlay was committed after the failed copy');
    }
    assert.deepEqual(await publishedIds(env, 'fault-compressed'), []);
    assert.deepEqual(await findPartials(env.storage), []);
    await assertInvariants(env, { vms: [noos.ref, vm.ref], verify: [{ vm: noos.name, id: prev }] });

    // With the space back, the same backup goes through: nothing was left in its way.
    await rm(filler, { force: true });
    await sleep(1100);
    const again = await env.cli(['backup', 'fault-compressed', '--json']);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr.slice(-2000)}`);
    await assertInvariants(env, { vms: [noos.ref, vm.ref], verify: [{ vm: noos.name, id: prev }, { vm: 'fault-compressed', id: runJson(again).backupId! }] });
  });

  test('storage fills up while the copy runs (another writer on the share): ENOSPC, clean failure, previous backup intact', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const dir = await scratchDir('fill-during');
    const noos = await cloneNoos(lab, 'fill');
    const VM = noos.name;
    const env = await faultEnv(lab, { small: true, extraVms: [scratchVmPolicy(VM)], imageWriter: 'qemu-img' });
    const filler = join(lab.storage.smallDir, `faults-filler-${process.pid}-during`);
    t.after(async () => {
      await rm(filler, { force: true });
      await repairLab(env, [noos.ref]);
      await env.cleanup();
      await noos.cleanup();
      await rm(dir, { recursive: true, force: true });
    });
    const prev = await goodBackup(env, VM);
    await sleep(1100); // backup ids have one-second resolution
    const slow = await slowQemuImg(dir, '1M');

    const proc = env.spawn(['backup', VM, '--json'], { env: slow });
    const part = await waitFor('the copy to be under way', async () => {
      for (const p of await findPartials(env.storage)) {
        const s = await stat(join(p, `${VM}-vda.qcow2`)).catch(() => undefined);
        if (s && s.size > 256 * 1024) return p;
      }
      return undefined;
    }, 30_000, 100);
    // Take every free byte (as a concurrent writer would).
    let size = await availBytes(env.storage);
    while (size > 0 && (await sh(['fallocate', '-l', String(size), filler])).code !== 0) size -= 64 * 1024;
    t.diagnostic(`filled ${size} B while ${part} was being written`);
    const r = await proc;
    const res = { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: 0 };
    const run = runJson(res);
    assert.equal(res.code, 1, `${res.stdout}\n${res.stderr.slice(-2000)}`);
    assert.ok(run.steps.some((s) => s.name === 'copy-vda' && !s.ok), `the copy failed: ${JSON.stringify(run.steps)}`);
    assert.match(run.error ?? '', /No space left on device/);
    assert.deepEqual(await publishedIds(env, VM), [prev], 'no new backup published');
    await rm(filler, { force: true });
    await assertInvariants(env, { vms: [noos.ref], verify: [{ vm: VM, id: prev }] });
  });
});
