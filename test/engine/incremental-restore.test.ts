// Restore and verify from any point of an incremental chain, on the real lab: a scratch OS-less VM
// (i13-<pid>, local libvirt) gets a full, known writes, an incremental, more writes, an incremental.
// `restore --as` of the middle point is the disk as it was then (qemu-img compare) and stands
// alone; verify of the newest point verifies its chain, names a corrupted middle point, and the
// chain's dependents are then not good; a tampered backing reference (outside the VM dir, onto a
// FIFO that would hang whoever opened it) and an external data file are refused by verify and
// restore without being opened.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import { writeIntoVm } from '../helpers/vm-disk-write.js';
import { defineScratchVm, faultEnv, flipByte, readManifest, runJson, scratchVmPolicy, sh, virsh, type FaultEnv } from '../helpers/faults.js';
import type { Lab } from '../lab/lab.js';
import { BackupStore } from '../../src/adapters/storage/backup-store.js';
import { chainOf, dependents } from '../../src/core/chain/points.js';

const MiB = 1024 * 1024;

describe('restore and verify from any point of an incremental chain', { timeout: 240_000 }, () => {
  const name = `i13-${process.pid}`;
  const copyName = `i13-${process.pid}-r`;
  let lab: Lab | undefined;
  let env: FaultEnv | undefined;
  let dir = '';
  let image = '';
  let removeVm: (() => Promise<void>) | undefined;
  const ids: string[] = [];
  let file = '';
  let middleCopy = '';

  const vmDir = (): string => join(env!.storage, 'local', name);
  const imageOf = (id: string): string => join(vmDir(), id, file);
  async function backup(): Promise<string> {
    await new Promise((r) => setTimeout(r, 1100)); // backup ids have a resolution of one second
    const r = await env!.cli(['backup', name, '--json']);
    const run = runJson(r);
    assert.equal(run.status, 'ok', `${run.error}\n${r.stderr.slice(-2000)}`);
    return run.backupId!;
  }
  const write = (byte: string, offset: number, len: number): Promise<void> => writeIntoVm(lab!, 'local', name, byte, offset, len);
  const verify = (id: string) => env!.cli(['verify', name, '--backup', id]);
  async function restoreAs(id: string): Promise<{ code: number; out: string; disk?: string }> {
    const r = await env!.cli(['restore', name, '--backup', id, '--as', copyName, '--network', 'none']);
    const bl = await virsh(lab!, 'local', ['domblklist', '--domain', copyName]);
    const disk = bl.code === 0 ? bl.stdout.split('\n').find((l) => l.trim().startsWith('vda'))?.trim().split(/\s+/)[1] : undefined;
    return { code: r.code, out: r.stdout + r.stderr, ...(disk ? { disk } : {}) };
  }
  async function removeCopy(disk?: string): Promise<void> {
    await virsh(lab!, 'local', ['undefine', '--domain', copyName]);
    if (disk) await rm(disk, { force: true });
  }

  before(async (t) => {
    lab = labOrSkip(t as never);
    if (!lab) return;
    dir = join('/var/tmp', `i13-${process.pid}-${Date.now().toString(36)}`);
    await mkdir(dir, { recursive: true });
    image = join(dir, `${name}.qcow2`);
    for (const argv of [['qemu-img', 'create', '-q', '-f', 'qcow2', image, '256M'], ['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xab 0 4M', image]]) {
      const r = await sh(argv);
      assert.equal(r.code, 0, r.stderr);
    }
    removeVm = (await defineScratchVm(lab, name, image, { dir })).remove;
    env = await faultEnv(lab, { mutate: (p) => { p.vms.push(scratchVmPolicy(name, { incremental: { full_every: 5 } })); } });
  });

  after(async () => {
    if (lab) await removeCopy();
    if (lab && removeVm) {
      await virsh(lab, 'local', ['destroy', '--domain', name]);
      const u = await virsh(lab, 'local', ['undefine', '--domain', name, '--checkpoints-metadata']);
      if (u.code !== 0) process.stderr.write(`undefine ${name}: ${u.stderr}\n`);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    if (env) await rm(env.storage, { recursive: true, force: true });
  });

  test('full → writes → incremental → writes → incremental; restore --as of the middle point is the disk then, standalone', async () => {
    ids.push(await backup());
    await write('0x5a', 1 * MiB, 192 * 1024);
    middleCopy = join(dir, 'middle.qcow2');
    assert.equal((await virsh(lab!, 'local', ['suspend', '--domain', name])).code, 0);
    try { await copyFile(image, middleCopy); } finally { await virsh(lab!, 'local', ['resume', '--domain', name]); }
    ids.push(await backup());
    await write('0x5b', 100 * MiB, 64 * 1024);
    await write('0x5c', 1 * MiB, 4096); // overwrites part of what the middle point holds
    ids.push(await backup());
    const ms = await Promise.all(ids.map((id) => readManifest(join(vmDir(), id))));
    assert.deepEqual(ms.map((m) => m.kind), ['full', 'incremental', 'incremental']);
    assert.deepEqual(ms.map((m) => m.parent_backup_id), [undefined, ids[0], ids[1]]);
    file = ms[1]!.files.find((f) => f.target === 'vda')!.path;

    const t0 = performance.now();
    const r = await restoreAs(ids[1]!);
    process.stderr.write(`restore --as of the middle point: ${Math.round(performance.now() - t0)} ms\n`);
    try {
      assert.equal(r.code, 0, r.out);
      assert.ok(r.disk, 'the copy has a vda');
      const info = JSON.parse((await sh(['qemu-img', 'info', '-U', '--output=json', '--', r.disk])).stdout) as Record<string, unknown>;
      assert.equal(info['backing-filename'], undefined, 'the restored disk has no backing file');
      const cmp = await sh(['qemu-img', 'compare', '-U', '-f', 'qcow2', '-F', 'qcow2', '--', r.disk, middleCopy]);
      assert.equal(cmp.code, 0, `the restored middle point differs from the disk then: ${cmp.stdout}${cmp.stderr}`);
    } finally {
      await removeCopy(r.disk);
    }

    // restore --disk vda --as-disk: the same disk as a new file beside the VM's, attached to it.
    const asDisk = `${name}-mid.qcow2`;
    const d = await env!.cli(['restore', name, '--backup', ids[1]!, '--disk', 'vda', '--as-disk', asDisk]);
    const path = join(dir, asDisk);
    try {
      assert.equal(d.code, 0, d.stdout + d.stderr);
      const info = JSON.parse((await sh(['qemu-img', 'info', '-U', '--output=json', '--', path])).stdout) as Record<string, unknown>;
      assert.equal(info['backing-filename'], undefined, 'the restored disk file has no backing file');
      const cmp = await sh(['qemu-img', 'compare', '-U', '-f', 'qcow2', '-F', 'qcow2', '--', path, middleCopy]);
      assert.equal(cmp.code, 0, `restore --disk of the middle point differs from the disk then: ${cmp.stdout}${cmp.stderr}`);
    } finally {
      await virsh(lab!, 'local', ['detach-disk', '--domain', name, '--target', path, '--persistent']);
      await rm(path, { force: true });
    }
  });

  test('verify of the newest point verifies its chain and passes', async () => {
    const v = await verify(ids[2]!);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const list = await new BackupStore(env!.storage).list('local', name);
    for (const id of ids) assert.equal(list.find((b) => b.id === id)?.verification?.result, 'ok', `${id} recorded as verified`);
  });

  test('a corrupted middle point: verify of the newest fails naming it; its dependents are not good', async () => {
    const img = imageOf(ids[1]!);
    const saved = join(dir, 'middle-image.qcow2');
    await copyFile(img, saved);
    const size = (await sh(['stat', '-c', '%s', '--', img])).stdout.trim();
    await flipByte(img, Number(size) - 100); // in a data cluster: the header and the chain are intact
    try {
      const v = await verify(ids[2]!);
      assert.equal(v.code, 1, v.stdout + v.stderr);
      assert.match(v.stdout, new RegExp(`ancestor ${ids[1]} failed verification: ${file}: checksum mismatch`));
      const j = await env!.cli(['verify', name, '--backup', ids[2]!, '--json']);
      const res = (JSON.parse(j.stdout) as { results: { id: string; ok: boolean; failedPoint?: string }[] }).results;
      assert.deepEqual(res.map((x) => [x.id, x.ok, x.failedPoint]), [[ids[2], false, ids[1]]]);
      const list = await new BackupStore(env!.storage).list('local', name);
      assert.equal(list.find((b) => b.id === ids[1])?.verification?.result, 'failed');
      assert.deepEqual(dependents(list, ids[1]!), [ids[2]]);
      assert.match(String(chainOf(list, ids[2]!).notGood), new RegExp(`ancestor ${ids[1]} failed verification`));
      assert.equal(chainOf(list, ids[0]!).notGood, undefined, 'the full stays good');
    } finally {
      await copyFile(saved, img);
    }
    assert.equal((await verify(ids[2]!)).code, 0, 'good again once the byte is back');
  });

  test('a backing reference out of the VM directory (onto a FIFO) is refused by verify and restore without opening it', async () => {
    const img = imageOf(ids[2]!);
    const saved = join(dir, 'newest-image.qcow2');
    await copyFile(img, saved);
    const fifo = join(env!.storage, 'local', `i13-other-${process.pid}`);
    assert.equal((await sh(['mkfifo', '--', fifo])).code, 0);
    try {
      for (const target of [`../../i13-other-${process.pid}`, '/etc/passwd']) {
        assert.equal((await sh(['qemu-img', 'rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', target, '--', img])).code, 0);
        const v = await verify(ids[2]!);
        assert.equal(v.code, 1, v.stdout + v.stderr);
        assert.match(v.stdout + v.stderr, new RegExp(`backing file "${target.replace(/[./]/g, '\\$&')}" is not the recorded parent`));
        const r = await restoreAs(ids[2]!);
        await removeCopy(r.disk);
        assert.equal(r.code, 1, r.out);
        assert.equal(r.disk, undefined, 'nothing was defined');
        assert.match(r.out, /is not the recorded parent/);
        // The listing (retention, status, --latest) sees it too, from the header alone.
        const listed = (await new BackupStore(env!.storage).list('local', name)).find((b) => b.id === ids[2]);
        assert.match(String(listed?.corrupt), /not the recorded parent/);
      }
    } finally {
      await copyFile(saved, img);
      await rm(fifo, { force: true });
    }
  });

  test('an image with an external data file is refused', async () => {
    const img = imageOf(ids[2]!);
    const saved = join(dir, 'newest-image.qcow2');
    await copyFile(img, saved);
    try {
      await rm(img);
      const c = await sh(['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'data.raw')}`, '-F', 'qcow2', '-b', `../${ids[1]}/${file}`, img]);
      assert.equal(c.code, 0, c.stderr);
      const v = await verify(ids[2]!);
      assert.equal(v.code, 1, v.stdout + v.stderr);
      assert.match(v.stdout + v.stderr, /has an external data file/);
    } finally {
      await copyFile(saved, img);
    }
    assert.equal((await verify(ids[2]!)).code, 0);
  });
});
