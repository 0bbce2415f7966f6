// The backing-file rule (core/chain/backing-rule.ts) and the qcow2 header reader it relies on:
// headers made by the real qemu-img (backing file, backing format, external data file), and
// `qemu-img info --backing-chain` outputs, honest and tampered.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseQcow2Header } from '../../src/core/chain/qcow2-header.js';
import { diskChains, headerProblems, qemuChainProblems, type ChainLink } from '../../src/core/chain/backing-rule.js';

const SHA = 'c'.repeat(64);
const A = '2026-12-01-020000';
const B = '2026-12-02-020000';
const C = '2026-12-03-020000';
const links: ChainLink[] = [{ backupId: A, file: 'vm-vda.qcow2' }, { backupId: B, file: 'vm-vda.qcow2' }, { backupId: C, file: 'vm-vda.qcow2' }];
const img = (extra: object = {}) => ({ path: 'vm-vda.qcow2', size_bytes: 1, sha256: SHA, target: 'vda', ...extra });

describe('qcow2 headers as qemu-img writes them', () => {
  let dir = '';
  const qi = async (...argv: string[]) => { const r = await execa('qemu-img', argv, { reject: false }); assert.equal(r.exitCode, 0, r.stderr); };
  const header = async (p: string) => parseQcow2Header(await readFile(p));
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'i13-hdr-')); for (const d of [A, B]) await mkdir(join(dir, d)); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('a full has no backing file; an incremental names its parent, format qcow2', async () => {
    await qi('create', '-q', '-f', 'qcow2', join(dir, A, 'vm-vda.qcow2'), '64M');
    await qi('create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', `../${A}/vm-vda.qcow2`, join(dir, B, 'vm-vda.qcow2'));
    const full = await header(join(dir, A, 'vm-vda.qcow2'));
    const inc = await header(join(dir, B, 'vm-vda.qcow2'));
    assert.deepEqual(full, { version: 3 });
    assert.deepEqual(inc, { version: 3, backing: `../${A}/vm-vda.qcow2`, backingFormat: 'qcow2' });
    assert.deepEqual(headerProblems(links.slice(0, 2), [full, inc]), []);
  });

  test('a rebase to /etc/passwd, to another VM or without a format is refused', async () => {
    const p = join(dir, B, 'vm-vda.qcow2');
    for (const [argv, re] of [
      [['-F', 'qcow2', '-b', '/etc/passwd'], /backing file "\/etc\/passwd" is not the recorded parent/],
      [['-F', 'qcow2', '-b', `../../other-vm/${A}/vm-vda.qcow2`], /other-vm.* is not the recorded parent/],
      [['-F', 'raw', '-b', `../${A}/vm-vda.qcow2`], /backing format "raw" is not qcow2/],
    ] as const) {
      await qi('rebase', '-u', '-f', 'qcow2', ...argv, '--', p);
      const problems = headerProblems(links.slice(0, 2), [await header(join(dir, A, 'vm-vda.qcow2')), await header(p)]);
      assert.ok(problems.some((x) => re.test(x)), JSON.stringify(problems));
    }
  });

  test('an external data file is refused, in a full and in a chain', async () => {
    const p = join(dir, A, 'vm-vda.qcow2');
    await rm(p);
    await qi('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'data.raw')}`, p, '64M');
    const h = await header(p);
    assert.ok('dataFile' in h && h.dataFile === join(dir, 'data.raw'), JSON.stringify(h));
    assert.match(headerProblems(links.slice(0, 1), [h]).join(), /external data file/);
  });

  test('junk is not a header', () => {
    assert.deepEqual(parseQcow2Header(Buffer.from('disk at x\n')), { problem: 'is not a qcow2 image (bad magic)' });
    const b = Buffer.alloc(512);
    b.writeUInt32BE(0x514649fb, 0); b.writeUInt32BE(3, 4); b.writeBigUInt64BE(400n, 8); b.writeUInt32BE(500, 16);
    assert.match(JSON.stringify(parseQcow2Header(b)), /outside its header/);
  });
});

describe('diskChains and qemu-img info --backing-chain', () => {
  const chain = [
    { backup_id: A, kind: 'full' as const, files: [img()] },
    { backup_id: B, kind: 'incremental' as const, parent_backup_id: A, files: [img({ backing: `../${A}/vm-vda.qcow2` })] },
    { backup_id: C, kind: 'incremental' as const, parent_backup_id: B, files: [img({ backing: `../${B}/vm-vda.qcow2` })] },
  ];
  test('the links of each disk, full first', () => {
    const { disks, problems } = diskChains(chain);
    assert.deepEqual(problems, []);
    assert.deepEqual(disks.get('vda'), links);
    assert.match(diskChains(chain.slice(1)).problems.join(), /does not start with a full/);
  });
  const vm = '/srv/backup/local/vm';
  const entry = (id: string, parent?: string, extra: object = {}) => ({
    filename: id === C ? `${vm}/${id}/vm-vda.qcow2` : `${vm}/${C}/../${id === A ? `${B}/../${A}` : id}/vm-vda.qcow2`, format: 'qcow2',
    ...(parent ? { 'backing-filename': `../${parent}/vm-vda.qcow2`, 'full-backing-filename': `${vm}/${id}/../${parent}/vm-vda.qcow2`, 'backing-filename-format': 'qcow2' } : {}), ...extra,
  });
  const honest = [entry(C, B), entry(B, A), entry(A)];
  test('honest output passes', () => assert.deepEqual(qemuChainProblems(links, vm, honest), []));
  const cases: [string, unknown, RegExp][] = [
    ['not a list', { filename: 'x' }, /did not return a list/],
    ['a longer chain', [...honest, entry(A)], /backing chain of 4 image\(s\), the manifests record 3/],
    ['a data file in the middle', [honest[0], entry(B, A, { 'format-specific': { type: 'qcow2', data: { 'data-file': '/etc/shadow' } } }), honest[2]], /external data file "\/etc\/shadow"/],
    ['a raw base', [honest[0], honest[1], entry(A, undefined, { format: 'raw' })], /format "raw" is not qcow2/],
    ['a full with a backing file', [honest[0], honest[1], entry(A, 'x')], /full's image has a backing file/],
    ['resolved elsewhere', [honest[0], { ...honest[1], 'full-backing-filename': '/etc/passwd' }, honest[2]], /resolves to "\/etc\/passwd"/],
  ];
  for (const [name, info, re] of cases) test(name, () => assert.match(qemuChainProblems(links, vm, info).join('\n'), re));
});
