// The streaming qcow2 writer against the real qemu-img: every image it writes must pass
// `qemu-img check`, be identical to its source by `qemu-img compare`, and hash to what the writer
// reported. Sources cover qcow2 (64 KiB and 4 KiB clusters, subclusters), sparse raw with an
// unaligned size, data across L2 boundaries; faults: an existing target, a timeout, a full disk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseQemuImgMap } from '../../src/adapters/libvirt/parse.js';
import { writeQcow2 } from '../../src/adapters/storage/qcow2-writer.js';

let dir = '';
before(async () => {
  const which = await execa('qemu-img', ['--version'], { reject: false });
  if (which.exitCode !== 0) throw new Error('qemu-img is needed (apt-get install qemu-utils)');
  dir = await mkdtemp(join(tmpdir(), 'vmb-qcow2w-'));
});
after(async () => { await rm(dir, { recursive: true, force: true }); });

const run = async (argv: string[]): Promise<string> => (await execa(argv[0]!, argv.slice(1))).stdout;

async function source(name: string, fmt: 'qcow2' | 'raw', size: string, writes: string[], createOpts: string[] = []): Promise<string> {
  const p = join(dir, name);
  await run(['qemu-img', 'create', '-q', '-f', fmt, ...createOpts, p, size]);
  if (writes.length) await run(['qemu-io', '-f', fmt, ...writes.flatMap((w) => ['-c', w]), p]);
  return p;
}

async function streamCopy(src: string, fmt: 'qcow2' | 'raw', out: string): Promise<{ sha256: string; bytes: number; dataBytes: number }> {
  const extents = parseQemuImgMap(await run(['qemu-img', 'map', '-f', fmt, '--output=json', src]));
  assert.ok(extents, 'streamable');
  const virtualSize = (JSON.parse(await run(['qemu-img', 'info', '-f', fmt, '--output=json', src])) as { 'virtual-size': number })['virtual-size'];
  return writeQcow2({ source: src, extents, virtualSize, dest: out });
}

async function assertFaithful(src: string, fmt: 'qcow2' | 'raw', out: string, r: { sha256: string; bytes: number }): Promise<void> {
  const check = await execa('qemu-img', ['check', '-f', 'qcow2', out], { reject: false });
  assert.equal(check.exitCode, 0, `qemu-img check: ${check.stdout}${check.stderr}`);
  assert.match(check.stdout, /No errors were found/);
  const cmp = await execa('qemu-img', ['compare', '-f', fmt, '-F', 'qcow2', src, out], { reject: false });
  assert.equal(cmp.exitCode, 0, `qemu-img compare: ${cmp.stdout}${cmp.stderr}`);
  assert.equal(r.sha256, createHash('sha256').update(await readFile(out)).digest('hex'), 'the reported hash is the file\'s');
  assert.equal(r.bytes, (await stat(out)).size);
  const sums = await execa('sha256sum', [out]);
  assert.equal(sums.stdout.split(' ')[0], r.sha256, 'coreutils agrees');
}

describe('streaming qcow2 writer (real qemu-img)', () => {
  const cases: { name: string; fmt: 'qcow2' | 'raw'; size: string; writes: string[]; opts?: string[] }[] = [
    { name: 'qcow2, scattered data, patterns, a zeroed range and a write across the 512 MiB L2 boundary', fmt: 'qcow2', size: '2G', writes: ['write -P 0x11 0 100k', 'write -P 0x22 10M 5M', 'write -z 20M 1M', 'write -P 0x33 511M 2M', 'write -P 0x44 1500M 64k', 'write -P 0x55 2047M 1M'] },
    { name: 'qcow2 with 4 KiB clusters (source clusters smaller than ours)', fmt: 'qcow2', size: '256M', writes: ['write -P 0x61 4k 4k', 'write -P 0x62 72k 8k', 'write -P 0x63 100M 3M'], opts: ['-o', 'cluster_size=4096'] },
    { name: 'qcow2 with subclusters (extended_l2)', fmt: 'qcow2', size: '256M', writes: ['write -P 0x71 0 2k', 'write -P 0x72 64k 4k', 'write -P 0x73 200M 130k'], opts: ['-o', 'extended_l2=on,cluster_size=128k'] },
    { name: 'sparse raw whose size is not a multiple of 64 KiB', fmt: 'raw', size: String(100 * 1024 * 1024 + 4096), writes: ['write -P 0x81 0 1M', 'write -P 0x82 50M 12k', 'write -P 0x83 100M 4k'] },
    { name: 'qcow2 with no data at all', fmt: 'qcow2', size: '1G', writes: [] },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const src = await source(`${c.name.slice(0, 12).replace(/\W/g, '_')}.${c.fmt}`, c.fmt, c.size, c.writes, c.opts);
      const out = join(dir, `out-${Math.random().toString(36).slice(2)}.qcow2`);
      const r = await streamCopy(src, c.fmt, out);
      await assertFaithful(src, c.fmt, out, r);
      // Sparse: no more than qemu-img's own copy, give or take the tables.
      const ref = join(dir, `ref-${Math.random().toString(36).slice(2)}.qcow2`);
      await run(['qemu-img', 'convert', '-f', c.fmt, '-O', 'qcow2', src, ref]);
      const [mine, theirs] = [(await stat(out)).blocks * 512, (await stat(ref)).blocks * 512];
      assert.ok(mine <= theirs * 1.1 + 256 * 1024, `allocated ${mine} vs qemu-img's ${theirs}`);
    });
  }

  test('a compressed source is not streamable (qemu-img copies it)', async () => {
    const raw = await source('c.raw', 'raw', '8M', ['write -P 0x91 0 1M']);
    const c = join(dir, 'c.qcow2');
    await run(['qemu-img', 'convert', '-c', '-f', 'raw', '-O', 'qcow2', raw, c]);
    assert.equal(parseQemuImgMap(await run(['qemu-img', 'map', '-f', 'qcow2', '--output=json', c])), null);
  });

  test('never writes over an existing file', async () => {
    const src = await source('e.qcow2', 'qcow2', '16M', ['write -P 0xa1 0 1M']);
    const out = join(dir, 'exists.qcow2');
    await writeFile(out, 'precious');
    await assert.rejects(streamCopy(src, 'qcow2', out), /EEXIST/);
    assert.equal(await readFile(out, 'utf8'), 'precious');
  });

  test('an aborted copy stops with the abort reason', async () => {
    const src = await source('a.qcow2', 'qcow2', '256M', ['write -P 0xb1 0 64M']);
    const extents = parseQemuImgMap(await run(['qemu-img', 'map', '-f', 'qcow2', '--output=json', src]))!;
    const ac = new AbortController();
    ac.abort(new Error('copy timed out'));
    await assert.rejects(writeQcow2({ source: src, extents, virtualSize: 256 * 1024 * 1024, dest: join(dir, 'aborted.qcow2'), signal: ac.signal }), /copy timed out/);
  });

  test('a full file system: ENOSPC surfaces as the error (the engine then removes the .partial)', async (t) => {
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') throw new Error('CI=true and this test needs root (it mounts a 4 MiB tmpfs)');
      t.skip('needs root to mount a tmpfs');
      return;
    }
    const mnt = join(dir, 'tiny');
    await mkdir(mnt);
    await run(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'vmb-qcow2w-test', mnt]);
    try {
      const src = await source('f.qcow2', 'qcow2', '64M', ['write -P 0xc1 0 16M']);
      await assert.rejects(streamCopy(src, 'qcow2', join(mnt, 'full.qcow2')), /ENOSPC|no space left/i);
    } finally {
      await run(['umount', mnt]);
    }
  });
});
