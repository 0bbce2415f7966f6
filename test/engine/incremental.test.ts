// Incremental backups through libvirt's backup API (push mode) on the real lab: a scratch OS-less
// VM (i12-<pid>, local libvirt, TCG) gets a full, then known writes through QEMU's monitor, then an
// incremental whose image holds only the changed clusters, rebased onto its parent, and whose
// `qemu-img convert` equals a copy of the disk taken at that moment. A checkpoint deleted behind
// vmbackup's back gives a full with a warning; a run SIGKILLed mid-incremental leaves, after
// `cleanup`, no backup job and no orphan checkpoint, and the next incremental is consistent.
// The engine runs in a child (incremental-runner.ts) with incremental.fullEvery set on the VM.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { labOrSkip } from '../helpers/lab.js';
import { writeIntoVm } from '../helpers/vm-disk-write.js';
import { defineScratchVm, faultEnv, hostOf, readManifest, scratchVmPolicy, sh, virsh, waitFor, type FaultEnv } from '../helpers/faults.js';
import type { Lab } from '../lab/lab.js';
import type { RunRecord } from '../../src/adapters/store/state-store.js';

const RUNNER = new URL('./incremental-runner.js', import.meta.url).pathname;
const MiB = 1024 * 1024;

describe('incremental backups on libvirt checkpoints (push mode)', { timeout: 240_000 }, () => {
  const name = `i12-${process.pid}`;
  let lab: Lab | undefined;
  let env: FaultEnv | undefined;
  let dir = '';
  let image = '';
  let removeVm: (() => Promise<void>) | undefined;
  const hvName = `i12-hv-${process.pid}`;
  let hvImage = '';
  let hvDefined = false;

  const vmDir = (): string => join(env!.storage, 'local', name);
  const runner = (cmd: 'backup' | 'cleanup', fullEvery = 5, vm = name) => execa(process.execPath, [RUNNER, cmd, env!.repo, env!.stateDir, vm, String(fullEvery)], { reject: false, timeout: 180_000, env: { NO_COLOR: '1' } });
  async function backup(fullEvery = 5, vm = name): Promise<RunRecord> {
    await new Promise((r) => setTimeout(r, 1100)); // backup ids have a resolution of one second
    const r = await runner('backup', fullEvery, vm);
    assert.ok(r.stdout, `no run record: ${String(r.stderr).slice(-2000)}`);
    const run = JSON.parse(String(r.stdout)) as RunRecord;
    assert.equal(run.status, 'ok', `${run.error}\n${String(r.stderr).slice(-2000)}`);
    return run;
  }
  const write = (byte: string, offset: number, len: number, vm = name, host = 'local'): Promise<void> => writeIntoVm(lab!, host, vm, byte, offset, len);
  /** The disk as it is now (the VM paused for the copy). */
  async function snapshotCopy(tag: string, vm = name, host = 'local', img = image): Promise<string> {
    const copy = join(dir, `copy-${tag}.qcow2`);
    assert.equal((await virsh(lab!, host, ['suspend', '--domain', vm])).code, 0);
    try { await copyFile(img, copy); } finally { await virsh(lab!, host, ['resume', '--domain', vm]); }
    return copy;
  }
  const checkpoints = async (): Promise<string[]> => (await virsh(lab!, 'local', ['checkpoint-list', '--domain', name, '--name'])).stdout.split('\n').map((s) => s.trim()).filter(Boolean).sort();
  async function sameDisk(point: string, file: string, copy: string, pointDir = vmDir()): Promise<void> {
    const out = join(dir, `conv-${point}.qcow2`);
    const c = await sh(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'qcow2', '--', join(pointDir, point, file), out]);
    assert.equal(c.code, 0, c.stderr);
    const cmp = await sh(['qemu-img', 'compare', '-U', '-f', 'qcow2', '-F', 'qcow2', out, copy]);
    assert.equal(cmp.code, 0, `${point} differs from the disk at that moment: ${cmp.stdout}${cmp.stderr}`);
    await rm(out, { force: true });
  }
  async function ownBytes(path: string): Promise<number> {
    const m = JSON.parse((await sh(['qemu-img', 'map', '--output=json', '-f', 'qcow2', '--', path])).stdout) as { depth: number; data: boolean; length: number }[];
    return m.filter((e) => e.depth === 0 && e.data).reduce((n, e) => n + e.length, 0);
  }

  before(async (t) => {
    lab = labOrSkip(t as never);
    if (!lab) return;
    dir = join('/var/tmp', `i12-${process.pid}-${Date.now().toString(36)}`);
    await mkdir(dir, { recursive: true });
    image = join(dir, `${name}.qcow2`);
    for (const argv of [['qemu-img', 'create', '-q', '-f', 'qcow2', image, '1G'], ['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xab 0 4M', '-c', 'write -P 0xcd 512M 1M', image]]) {
      const r = await sh(argv);
      assert.equal(r.code, 0, r.stderr);
    }
    removeVm = (await defineScratchVm(lab, name, image, { dir })).remove;
    const h = hostOf(lab, 'hv1');
    hvImage = join(h.labImagesDir, `${hvName}.qcow2`);
    for (const argv of [['qemu-img', 'create', '-q', '-f', 'qcow2', hvImage, '256M'], ['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xab 0 4M', hvImage]]) {
      const r = await sh(argv);
      assert.equal(r.code, 0, r.stderr);
    }
    hvDefined = true;
    await defineScratchVm(lab, hvName, `${h.imagesDir}/${hvName}.qcow2`, { host: 'hv1', dir: h.labImagesDir });
    env = await faultEnv(lab, { mutate: (p) => { p.vms.push(scratchVmPolicy(name), scratchVmPolicy(hvName, { hypervisor: 'hv1' })); } });
  });

  after(async () => {
    if (lab && removeVm) {
      await virsh(lab, 'local', ['destroy', '--domain', name]);
      const u = await virsh(lab, 'local', ['undefine', '--domain', name, '--checkpoints-metadata']);
      if (u.code !== 0) process.stderr.write(`undefine ${name}: ${u.stderr}\n`);
    }
    if (lab && hvDefined) {
      await virsh(lab, 'hv1', ['destroy', '--domain', hvName]);
      const u = await virsh(lab, 'hv1', ['undefine', '--domain', hvName, '--checkpoints-metadata']);
      if (u.code !== 0) process.stderr.write(`undefine ${hvName}: ${u.stderr}\n`);
      await rm(hvImage, { force: true });
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    if (env) await rm(env.storage, { recursive: true, force: true });
  });

  test('over ssh (hv1): QEMU writes the images on the hypervisor, hashed there; the incremental equals the disk then', async () => {
    const full = await backup(5, hvName);
    await write('0x5a', 8 * MiB, 128 * 1024, hvName, 'hv1');
    const copy = await snapshotCopy('hv1', hvName, 'hv1', hvImage);
    const inc = await backup(5, hvName);
    const pdir = join(env!.storage, 'hv1', hvName);
    const m = await readManifest(join(pdir, inc.backupId!));
    assert.equal(m.kind, 'incremental', inc.warnings.join('\n'));
    assert.equal(m.parent_backup_id, full.backupId);
    const img = m.files.find((f) => f.target === 'vda')!;
    assert.ok(img.changed_bytes! >= 128 * 1024 && img.changed_bytes! <= 128 * 1024 + MiB, String(img.changed_bytes));
    const sums = await sh(['sha256sum', '--', join(pdir, inc.backupId!, img.path)]);
    assert.equal(sums.stdout.split(' ')[0], img.sha256);
    await sameDisk(inc.backupId!, img.path, copy, pdir);
  });

  let fullId = '';
  let incId = '';
  test('full, known writes, incremental: only the changed clusters, rebased on the parent, equal to the disk then', async () => {
    const full = await backup();
    fullId = full.backupId!;
    const fm = await readManifest(join(vmDir(), fullId));
    assert.equal(fm.kind, 'full');
    assert.equal(fm.checkpoint, `vmbackup-${fullId}`);
    assert.deepEqual(await checkpoints(), [`vmbackup-${fullId}`]);

    await write('0x5a', 1 * MiB, 192 * 1024);
    await write('0x5b', 700 * MiB, 64 * 1024);
    const copy = await snapshotCopy('inc');
    const t0 = performance.now();
    const inc = await backup();
    process.stderr.write(`incremental run: ${Math.round(performance.now() - t0)} ms\n`);
    incId = inc.backupId!;
    const m = await readManifest(join(vmDir(), incId));
    assert.equal(m.kind, 'incremental');
    assert.equal(m.parent_backup_id, fullId);
    assert.equal(m.checkpoint, `vmbackup-${incId}`);
    const img = m.files.find((f) => f.target === 'vda')!;
    assert.equal(img.backing, `../${fullId}/${fm.files.find((f) => f.target === 'vda')!.path}`);
    const own = await ownBytes(join(vmDir(), incId, img.path));
    assert.equal(img.changed_bytes, own);
    assert.ok(own >= 256 * 1024 && own <= 256 * 1024 + MiB, `changed clusters ${own} bytes for 256 KiB written`);
    const info = JSON.parse((await sh(['qemu-img', 'info', '--output=json', '--', join(vmDir(), incId, img.path)])).stdout) as { 'backing-filename'?: string };
    assert.equal(info['backing-filename'], img.backing);
    await sameDisk(incId, img.path, copy);
    assert.deepEqual(await checkpoints(), [`vmbackup-${incId}`], 'only the newest point keeps a checkpoint');
  });

  test('a checkpoint deleted behind vmbackup\'s back gives a full with a warning naming the reason', async () => {
    assert.ok(incId);
    assert.equal((await virsh(lab!, 'local', ['checkpoint-delete', '--domain', name, '--checkpointname', `vmbackup-${incId}`])).code, 0);
    const run = await backup();
    const m = await readManifest(join(vmDir(), run.backupId!));
    assert.equal(m.kind, 'full');
    assert.ok(run.warnings.some((w) => w.includes(`no checkpoint vmbackup-${incId}`)), run.warnings.join('\n'));
    assert.deepEqual(await checkpoints(), [`vmbackup-${run.backupId!}`]);
    fullId = run.backupId!;
  });

  test('SIGKILL mid-incremental: cleanup leaves no job and no orphan checkpoint; the next incremental is consistent', async () => {
    assert.ok(fullId);
    await write('0x77', 100 * MiB, 64 * MiB); // enough for the job to take a moment
    await new Promise((r) => setTimeout(r, 1100));
    const child = runner('backup');
    const killedId = await waitFor('the incremental target file', async () => {
      for (const n of (await sh(['ls', '--', vmDir()])).stdout.split('\n')) {
        if (n.endsWith('.partial') && existsSync(join(vmDir(), n, `${name}-vda.qcow2`))) return n.slice(0, -'.partial'.length);
      }
      return undefined;
    }, 60_000, 20);
    child.kill('SIGKILL');
    await child;
    const c = await runner('cleanup');
    const report = JSON.parse(String(c.stdout)) as { actions: string[]; problems: string[] };
    assert.deepEqual(report.problems, [], String(c.stderr).slice(-2000));
    assert.ok(report.actions.includes(`deleted checkpoint vmbackup-${killedId}: its restore point was never published`), report.actions.join('\n'));
    assert.match((await virsh(lab!, 'local', ['domjobinfo', '--domain', name])).stdout, /Job type:\s+None/);
    assert.deepEqual(await checkpoints(), [`vmbackup-${fullId}`], `orphan checkpoint vmbackup-${killedId} removed; actions: ${report.actions.join('; ')}`);
    assert.ok(!existsSync(join(vmDir(), `${killedId}.partial`)));

    await write('0x78', 300 * MiB, 128 * 1024);
    const copy = await snapshotCopy('after-kill');
    const run = await backup();
    const m = await readManifest(join(vmDir(), run.backupId!));
    assert.equal(m.kind, 'incremental');
    assert.equal(m.parent_backup_id, fullId);
    await sameDisk(run.backupId!, m.files.find((f) => f.target === 'vda')!.path, copy);

    // An incremental on an incremental: the chain full → inc → inc converts into the whole disk.
    await write('0x79', 900 * MiB, 64 * 1024);
    const copy2 = await snapshotCopy('chain3');
    const run2 = await backup();
    const m2 = await readManifest(join(vmDir(), run2.backupId!));
    assert.equal(m2.kind, 'incremental', run2.warnings.join('\n'));
    assert.equal(m2.parent_backup_id, run.backupId);
    await sameDisk(run2.backupId!, m2.files.find((f) => f.target === 'vda')!.path, copy2);
    incId = run2.backupId!;
  });

  test('the snapshot method (external snapshot + blockcommit) still works on a VM with checkpoints; tracking survives it', async () => {
    assert.ok(incId);
    await write('0x81', 200 * MiB, 64 * 1024);
    const run = await backup(1); // full_every 1: the snapshot + copy path
    const m = await readManifest(join(vmDir(), run.backupId!));
    assert.equal(m.kind, undefined);
    assert.equal(m.snapshot, `vmbackup-${run.backupId!}`);
    assert.deepEqual((await virsh(lab!, 'local', ['domblklist', '--domain', name])).stdout.split('\n').filter((l) => l.includes('vda')).map((l) => l.trim().split(/\s+/)[1]), [image], 'committed back onto the base');
    assert.deepEqual(await checkpoints(), [`vmbackup-${incId}`], 'the checkpoint and its bitmap survive the snapshot and the commit');
    // The newest point has no checkpoint: the next one with incrementals on is a full, with the reason.
    const next = await backup();
    assert.equal((await readManifest(join(vmDir(), next.backupId!))).kind, 'full');
    assert.ok(next.warnings.some((w) => w.includes(`no checkpoint vmbackup-${run.backupId!}`)), next.warnings.join('\n'));
    assert.deepEqual(await checkpoints(), [`vmbackup-${next.backupId!}`]);
  });
});
