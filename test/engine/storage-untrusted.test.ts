// Backup storage is untrusted on read. Real backups of private copies of lab-noos (local) and
// hv1-vm1's role (hv1, over ssh) are copied into tampered restore points: a manifest path with
// `../` (its target a FIFO outside the storage root, so following it would hang), an image
// replaced by a symlink to a good copy outside the storage root (same bytes: only the link is
// wrong), by a FIFO, by a symlink to /dev/zero, and a directory holding only a manifest (with a
// planted "ok" verification.json). `vmbackup verify` must refuse each, quickly and without
// following anything; the listing must call each corrupt and never a good restore point; on the
// ssh hypervisor the one remote command that checks a backup file before a program reads it
// must refuse symlinks, FIFOs and devices; a restore of a tampered backup defines nothing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { labOrSkip } from '../helpers/lab.js';
import { CLI } from '../helpers/paths.js';
import { cloneNoos, cloneVm, faultEnv, goodBackup, hostOf, readManifest, sh, virsh, type FaultEnv } from '../helpers/faults.js';
import { createHash } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { BackupStore, toRestorePoint } from '../../src/adapters/storage/backup-store.js';
import { pruneBackup } from '../../src/adapters/storage/prune.js';
import { HostFs } from '../../src/adapters/host-fs.js';
import { SshTransport } from '../../src/adapters/transport/ssh.js';
import { isGood } from '../../src/core/retention.js';

type Tamper = 'dotdot' | 'symlink-outside' | 'fifo' | 'devzero' | 'only-manifest';

/** A copy of backup `id` under a new id (the manifest says so), then tampered as `how`. */
async function tampered(env: FaultEnv, host: string, vm: string, id: string, newId: string, how: Tamper, outside: string): Promise<{ dir: string; image: string }> {
  const src = join(env.storage, host, vm, id);
  const dir = join(env.storage, host, vm, newId);
  const r = await sh(['cp', '-a', '--', src, dir]);
  assert.equal(r.code, 0, r.stderr);
  const m = await readManifest(dir);
  m.backup_id = newId;
  const img = m.files.find((f) => f.target === 'vda')!;
  const image = join(dir, img.path);
  const away = join(outside, `${newId}-${img.path}`);
  await rm(join(dir, 'verification.json'), { force: true });
  switch (how) {
    case 'dotdot': {
      // The manifest points out of the backup directory, at a FIFO nobody writes: following it hangs.
      assert.equal((await sh(['mkfifo', '--', away])).code, 0);
      img.path = relative(dir, away);
      assert.match(img.path, /^\.\.\//);
      break;
    }
    case 'symlink-outside':
      await rename(image, away); // the genuine bytes, outside the storage root: hash and size still match
      await symlink(away, image);
      break;
    case 'fifo':
      await rm(image);
      assert.equal((await sh(['mkfifo', '--', image])).code, 0);
      break;
    case 'devzero':
      await rm(image);
      await symlink('/dev/zero', image);
      break;
    case 'only-manifest':
      for (const f of m.files) await rm(join(dir, f.path), { force: true });
      await rm(join(dir, 'checksums.sha256'), { force: true });
      await writeFile(join(dir, 'verification.json'), JSON.stringify({ result: 'ok', at: new Date().toISOString(), problems: [] }));
      break;
  }
  await writeFile(join(dir, 'backup-metadata.json'), JSON.stringify(m, null, 2));
  return { dir, image };
}

/** `vmbackup verify VM --backup ID`, bounded: a verify that follows a FIFO or /dev/zero never returns. */
async function verify(env: FaultEnv, vm: string, id: string): Promise<{ code: number; out: string; ms: number }> {
  const t0 = performance.now();
  const r = await execa(process.execPath, [CLI, 'verify', vm, '--backup', id, '--repo', env.repo, '--state-dir', env.stateDir], { reject: false, timeout: 20_000, env: { NO_COLOR: '1' } });
  return { code: r.timedOut ? -1 : r.exitCode ?? -1, out: `${String(r.stdout)}\n${String(r.stderr).slice(-1500)}`, ms: performance.now() - t0 };
}

const CASES: [Tamper, string, RegExp][] = [
  ['dotdot', '2001-01-01-000001', /manifest path "\.\.\/[^"]*" contains "\/": not a plain file name inside the backup directory/],
  ['symlink-outside', '2001-01-01-000002', /-vda\.qcow2: is a symbolic link/],
  ['fifo', '2001-01-01-000003', /-vda\.qcow2: is a fifo, not a regular file/],
  ['devzero', '2001-01-01-000004', /-vda\.qcow2: is a symbolic link/],
  ['only-manifest', '2001-01-01-000005', /-vda\.qcow2: missing/],
];

async function checkHost(t: { diagnostic(s: string): void }, env: FaultEnv, host: string, vm: string, good: string, outside: string, cases: typeof CASES): Promise<void> {
  for (const [how, id, expect] of cases) {
    await tampered(env, host, vm, good, id, how, outside);
    const r = await verify(env, vm, id);
    t.diagnostic(`${host} ${how}: exit ${r.code} in ${r.ms.toFixed(0)} ms`);
    assert.notEqual(r.code, -1, `${how}: verify hung (killed after 20 s): it followed or read what it must refuse`);
    assert.equal(r.code, 1, `${how}: verify must fail:\n${r.out}`);
    assert.match(r.out, expect, `${how}:\n${r.out}`);
  }
  // Listing: every tampered point is corrupt and never good; the genuine one is good.
  const store = new BackupStore(env.storage);
  const list = await store.list(host, vm);
  for (const b of list) {
    const p = toRestorePoint(b);
    if (b.id === good) { assert.deepEqual(b.corrupt, undefined, `${good} is sound`); assert.ok(isGood(p)); continue; }
    assert.ok(b.corrupt?.length, `${b.id} is listed as corrupt`);
    assert.equal(isGood(p), false, `${b.id} (${JSON.stringify(b.corrupt)}) must never be a good restore point`);
    assert.equal(p.status, 'failed');
  }
  assert.deepEqual(list.map((b) => b.id).sort(), [good, ...cases.map((c) => c[1])].sort());
  const only = list.find((b) => b.id === '2001-01-01-000005');
  if (only) assert.match(only.corrupt!.join('; '), /-vda\.qcow2 is missing/);
}

describe('storage is untrusted on read', () => {
  test('local transport: ../ paths, symlinks out, FIFO, /dev/zero, manifest-only directory', { timeout: 120_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const noos = await cloneNoos(lab, 'st-untr');
    const env = await faultEnv(lab, { extraVms: [noos.policy()] });
    const outside = await mkdtemp(join(tmpdir(), 'st-outside-'));
    t.after(async () => { await env.cleanup(); await noos.cleanup(); await rm(outside, { recursive: true, force: true }); });
    const good = await goodBackup(env, noos.name);
    await checkHost(t, env, 'local', noos.name, good, outside, CASES);
    const v = await verify(env, noos.name, good);
    assert.equal(v.code, 0, `the genuine backup still verifies:\n${v.out}`);
  });

  test('ssh hypervisor (hv1): verify refuses, the remote pre-read check refuses symlinks/FIFOs/devices, a tampered restore defines nothing', { timeout: 120_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const hv = await cloneVm(lab, 'st-untr-hv1', { host: 'hv1' });
    const env = await faultEnv(lab, { extraVms: [hv.policy()] });
    const outside = await mkdtemp(join(tmpdir(), 'st-outside-'));
    const ctl = await mkdtemp(join(tmpdir(), 'st-ssh-'));
    const as = `st-untr-${process.pid}`;
    t.after(async () => {
      await virsh(lab, 'hv1', ['undefine', '--domain', as]);
      await env.cleanup(); await hv.cleanup(); await rm(outside, { recursive: true, force: true }); await rm(ctl, { recursive: true, force: true });
    });
    const good = await goodBackup(env, hv.name);
    await checkHost(t, env, 'hv1', hv.name, good, outside, CASES.filter(([how]) => how !== 'dotdot'));

    // The check a restore runs on the hypervisor before qemu-img reads a backup file: one remote
    // `stat` (argv, no shell), which never follows a symlink and never opens a FIFO.
    const h = hostOf(lab, 'hv1');
    const ssh = new SshTransport({ host: 'hv1', address: h.address, user: 'root', port: h.sshPort, identity: lab.ssh.key }, { knownHosts: lab.ssh.knownHosts, controlDir: ctl });
    t.after(() => ssh.close());
    const fs = new HostFs(ssh);
    const m = await readManifest(join(env.storage, 'hv1', hv.name, good));
    const img = m.files.find((f) => f.target === 'vda')!;
    const remote = (id: string): string => `${env.remoteStorage}/hv1/${hv.name}/${id}/${img.path}`;
    await fs.assertRegularFile(remote(good), img.size_bytes);
    await assert.rejects(fs.assertRegularFile(remote(good), img.size_bytes + 1), /STORAGE_NOT_REGULAR_FILE: hv1: .* is \d+ bytes, the manifest says \d+/);
    for (const [id, kind] of [['2001-01-01-000002', 'symbolic link'], ['2001-01-01-000003', 'fifo'], ['2001-01-01-000004', 'symbolic link'], ['2001-01-01-000005', 'missing']] as const) {
      await assert.rejects(fs.assertRegularFile(remote(id), img.size_bytes), (e: Error) => e.message.includes(kind === 'missing' ? 'is missing' : `is a ${kind}, not a regular file`), `${id}: ${kind}`);
    }
    await assert.rejects(fs.assertRegularFile('-delete'), /HOST_PATH_UNSAFE/);

    // A restore of a tampered point is refused before anything is copied or defined.
    const r = await execa(process.execPath, [CLI, 'restore', hv.name, '--backup', '2001-01-01-000002', '--as', as, '--network', 'none', '--repo', env.repo, '--state-dir', env.stateDir], { reject: false, timeout: 60_000, env: { NO_COLOR: '1' } });
    assert.equal(r.exitCode, 1, `${String(r.stdout)}\n${String(r.stderr).slice(-1500)}`);
    assert.match(`${String(r.stdout)}${String(r.stderr)}`, /is a symbolic link/);
    assert.notEqual((await virsh(lab, 'hv1', ['domstate', '--domain', as])).code, 0, `${as} must not be defined`);
    assert.equal((await readFile(join(outside, `2001-01-01-000002-${img.path}`))).length, img.size_bytes, 'the file outside the storage is untouched');
  });

  test('no lab: pruning a restore point that is a symlink (to a good backup) removes the link only, never the backup it points at', async () => {
    const root = await mkdtemp(join(tmpdir(), 'st-prune-'));
    try {
      const vmDir = join(root, 'hv1', 'vm1');
      const publish = async (id: string): Promise<string> => {
        const dir = join(vmDir, id);
        await mkdir(dir, { recursive: true });
        const img = Buffer.from(`disk at ${id}\n`);
        const sha = createHash('sha256').update(img).digest('hex');
        await writeFile(join(dir, 'vm1-vda.qcow2'), img);
        await writeFile(join(dir, 'checksums.sha256'), `${sha}  vm1-vda.qcow2\n`);
        await writeFile(join(dir, 'backup-metadata.json'), JSON.stringify({ backup_id: id, started: `${id.slice(0, 10)}T00:00:00Z`, files: [{ path: 'vm1-vda.qcow2', size_bytes: img.length, sha256: sha, target: 'vda' }] }));
        return dir;
      };
      const older = await publish('2026-01-01-000000');
      await publish('2026-01-03-000000');
      await symlink(older, join(vmDir, '2026-01-02-000000'));
      const store = new BackupStore(root);
      const listed = await store.list('hv1', 'vm1');
      assert.match(listed.find((b) => b.id === '2026-01-02-000000')!.corrupt!.join(), /is a symbolic link, not a backup directory/);
      await pruneBackup(store, 'vm1', '2026-01-02-000000');
      assert.deepEqual((await readdir(vmDir)).sort(), ['2026-01-01-000000', '2026-01-03-000000'], 'the link is gone, the backup it pointed at is not');
      assert.deepEqual((await readdir(older)).sort(), ['backup-metadata.json', 'checksums.sha256', 'vm1-vda.qcow2']);
    } finally { await rm(root, { recursive: true, force: true }); }
  });
});
