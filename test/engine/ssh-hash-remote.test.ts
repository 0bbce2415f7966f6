// Issue 11: no backup data through the control host. An ssh hypervisor's images are hashed (and
// fdatasynced) on the hypervisor by `openssl dgst`, and `verify` hashes there too; the control
// host reads only command output. Measured, not assumed: the CLI runs in a cgroup of its own and
// the `rchar` of every process in it (ssh's ControlMaster included) is summed (test/helpers/ctl-io.ts).
// Before the change the control host re-read every image from the storage mount: rchar ≈ the data.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { labOrSkip } from '../helpers/lab.js';
import { CLI } from '../helpers/paths.js';
import { measureCtlReads } from '../helpers/ctl-io.js';
import { defineScratchVm, faultEnv, hostOf, readManifest, scratchVmPolicy, sh } from '../helpers/faults.js';
import { parseRemoteHash, remoteSha256, RemoteHashOutputError } from '../../src/adapters/transport/remote-hash.js';
import { LocalTransport } from '../../src/adapters/transport/local.js';
import { UntrustedFileError } from '../../src/adapters/storage/read-untrusted.js';

const MiB = 1024 * 1024;
const DATA_MIB = 1024; // the 1 GiB disk: node's own start-up (modules, git, virsh output) reads ~4 MiB whatever the data

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 8 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe('ssh hypervisor: hashing happens on the hypervisor', () => {
  test(`backup and verify of a ${DATA_MIB} MiB disk on hv1: the control host reads < 1% of the data; the manifest hash is the file's`, { timeout: 300_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const hv = hostOf(lab, 'hv1');
    const name = `d11-hash-${process.pid}`;
    const runnerImage = join(hv.labImagesDir, `${name}.qcow2`);
    // Non-zero data in every cluster (qemu-img convert skips zeroes), varied so no layer can dedupe it.
    const writes = Array.from({ length: DATA_MIB / 16 }, (_, i) => ['-c', `write -P 0x${(0x11 + i).toString(16)} ${i * 16}M 16M`]).flat();
    for (const argv of [['qemu-img', 'create', '-q', '-f', 'qcow2', runnerImage, `${DATA_MIB}M`], ['qemu-io', '-f', 'qcow2', ...writes, runnerImage]]) {
      const r = await sh(argv, { timeoutMs: 120_000 });
      assert.equal(r.code, 0, `${argv.slice(0, 3).join(' ')}: ${r.stderr}`);
    }
    const vm = await defineScratchVm(lab, name, `${hv.imagesDir}/${name}.qcow2`, { host: 'hv1', dir: hv.labImagesDir, start: false });
    const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(name, { hypervisor: 'hv1', allow_offline: true })] });
    t.after(async () => { await vm.remove(); await rm(runnerImage, { force: true }); await env.cleanup(); });
    const flags = ['--repo', env.repo, '--state-dir', env.stateDir];

    const b = await measureCtlReads([process.execPath, CLI, 'backup', name, '--json', ...flags], { env: { ...process.env as Record<string, string>, NO_COLOR: '1' } });
    assert.equal(b.code, 0, `backup failed:\n${b.stdout}\n${b.stderr.slice(-3000)}`);
    const run = JSON.parse(b.stdout) as { backupId: string; warnings: string[] };
    const dir = join(env.storage, 'hv1', name, run.backupId);
    const m = await readManifest(dir);
    const img = m.files.find((f) => f.target === 'vda')!;
    assert.ok(img.size_bytes >= DATA_MIB * MiB, `the image holds the data (${img.size_bytes} bytes)`);
    assert.equal(img.writer, 'qemu-img');
    t.diagnostic(`backup: ${(b.ms / 1000).toFixed(1)} s, control host read ${(b.rcharBytes / MiB).toFixed(2)} MiB over ${b.processes} processes for a ${(img.size_bytes / MiB).toFixed(0)} MiB image`);
    assert.ok(b.rcharBytes < img.size_bytes * 0.01, `the control host read ${b.rcharBytes} bytes during the backup: ≥ 1% of the ${img.size_bytes}-byte image`);
    assert.ok(!run.warnings.some((w) => /openssl/.test(w)), `no control-host fallback: ${run.warnings.join('; ')}`);
    // The manifest's digest is the file's (hashed independently here, after the measured run).
    assert.equal(img.sha256, await fileSha256(join(dir, img.path)));

    const v = await measureCtlReads([process.execPath, CLI, 'verify', name, '--backup', run.backupId, ...flags], { env: { ...process.env as Record<string, string>, NO_COLOR: '1' } });
    assert.equal(v.code, 0, `verify failed:\n${v.stdout}\n${v.stderr.slice(-3000)}`);
    t.diagnostic(`verify: ${(v.ms / 1000).toFixed(1)} s, control host read ${(v.rcharBytes / MiB).toFixed(2)} MiB`);
    assert.ok(v.rcharBytes < img.size_bytes * 0.01, `the control host read ${v.rcharBytes} bytes during verify: ≥ 1% of the image`);

    // hv1 unreachable during verify: the control host reads the files instead, and says so.
    const policyFile = join(env.repo, 'lab.yaml');
    const policy = await readFile(policyFile, 'utf8');
    const p = parse(policy) as { hypervisors: { name: string; address: string; ssh: { port: number } }[] };
    Object.assign(p.hypervisors.find((h) => h.name === 'hv1')!, { address: '127.0.0.1' });
    p.hypervisors.find((h) => h.name === 'hv1')!.ssh.port = 1; // connection refused at once
    await writeFile(policyFile, stringify(p));
    const away = await env.cli(['verify', name, '--backup', run.backupId, '--json']);
    await writeFile(policyFile, policy);
    assert.equal(away.code, 0, `verify with hv1 unreachable falls back to the control host:\n${away.stdout}\n${away.stderr.slice(-2000)}`);
    const res = (JSON.parse(away.stdout) as { results: { ok: boolean; warnings: string[] }[] }).results;
    assert.ok(res[0]?.ok);
    assert.match(res[0]!.warnings.join('\n'), /hv1 is unreachable .*: verified by reading the files on the control host/);

    // A flipped byte is still found when the hash runs on the hypervisor.
    const flip = await sh(['sh', '-c', 'printf "\\377" | dd of="$1" bs=1 seek=$2 conv=notrunc status=none', 'flip', join(dir, img.path), String(img.size_bytes - 4096)]);
    assert.equal(flip.code, 0, flip.stderr);
    const bad = await env.cli(['verify', name, '--backup', run.backupId]);
    assert.equal(bad.code, 1, `verify of a flipped byte must fail:\n${bad.stdout}\n${bad.stderr.slice(-2000)}`);
    assert.match(bad.stdout + bad.stderr, /checksum mismatch/);
  });

  test('the remote output is parsed strictly: a 64-hex digest and a size, or a known refusal, nothing else', () => {
    const d = 'a'.repeat(64);
    assert.deepEqual(parseRemoteHash('hv', '/x', `size:12\n${d} *stdin\n`), { kind: 'ok', sha256: d, bytes: 12 });
    assert.deepEqual(parseRemoteHash('hv', '/x', 'size:99\nvmbackup-hash:too-large\n'), { kind: 'too-large', bytes: 99 });
    assert.deepEqual(parseRemoteHash('hv', '/x', 'vmbackup-hash:no-tool\n'), { kind: 'no-tool' });
    assert.throws(() => parseRemoteHash('hv', '/x', 'vmbackup-hash:symlink\n'), (e: unknown) => e instanceof UntrustedFileError && e.why === 'is a symbolic link');
    assert.throws(() => parseRemoteHash('hv', '/x', 'vmbackup-hash:not-regular:11a4\n'), (e: unknown) => e instanceof UntrustedFileError && e.why === 'is a fifo, not a regular file');
    assert.throws(() => parseRemoteHash('hv', '/x', 'vmbackup-hash:missing\n'), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
    for (const hostile of [
      `size:12\n${d}  /x\n`, `size:12\n${'A'.repeat(64)} *stdin\n`, `size:12\n${d.slice(1)} *stdin\n`, `size:12\n${d}0 *stdin\n`,
      `${d} *stdin\n`, `size:12\n${d} *stdin\nsize:1\n${d} *stdin\n`, `size:-1\n${d} *stdin\n`, `SHA2-256(stdin)= ${d}\n`,
      'vmbackup-hash:too-large\n', 'size:1\nvmbackup-hash:symlink\n', 'vmbackup-hash:no-tool:1\n', '', 'motd\nsize:12\n' + `${d} *stdin\n`,
    ]) assert.throws(() => parseRemoteHash('hv', '/x', hostile), RemoteHashOutputError, JSON.stringify(hostile));
  });

  test('the remote script itself (run here through the transport port): hashes a regular file, refuses the rest, says when openssl is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'd11-rh-'));
    const t = new LocalTransport('here');
    const PATH = process.env.PATH;
    try {
      const data = Buffer.alloc(3 * MiB + 17, 0x5a);
      await writeFile(join(dir, 'img'), data);
      await symlink('/dev/zero', join(dir, 'link'));
      assert.equal((await sh(['mkfifo', '--', join(dir, 'fifo')])).code, 0);
      const want = createHash('sha256').update(data).digest('hex');
      const o = { timeoutMs: 30_000 };
      assert.deepEqual(await remoteSha256(t, join(dir, 'img'), { ...o, sync: true }), { kind: 'ok', sha256: want, bytes: data.length });
      assert.deepEqual(await remoteSha256(t, join(dir, 'img'), { ...o, maxBytes: data.length }), { kind: 'ok', sha256: want, bytes: data.length });
      assert.deepEqual(await remoteSha256(t, join(dir, 'img'), { ...o, maxBytes: data.length - 1 }), { kind: 'too-large', bytes: data.length });
      await assert.rejects(remoteSha256(t, join(dir, 'link'), o), /is a symbolic link/);
      await assert.rejects(remoteSha256(t, join(dir, 'fifo'), o), /is a fifo, not a regular file/);
      await assert.rejects(remoteSha256(t, '/dev/zero', o), /is a character device, not a regular file/);
      await assert.rejects(remoteSha256(t, join(dir, 'none'), o), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
      await assert.rejects(remoteSha256(t, `${dir}/../x`, o), /HOST_PATH_UNSAFE|"\."/);
      // A host without openssl: the caller falls back to the control host (with a run warning).
      const bin = join(dir, 'bin');
      await mkdir(bin);
      for (const tool of ['sh', 'stat', 'sync']) await symlink((await sh(['sh', '-c', 'command -v "$1"', 'w', tool])).stdout.trim(), join(bin, tool));
      process.env.PATH = bin;
      assert.deepEqual(await remoteSha256(t, join(dir, 'img'), o), { kind: 'no-tool' });
    } finally {
      process.env.PATH = PATH;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
