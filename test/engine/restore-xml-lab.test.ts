// A tampered <vm>.xml in the backup storage never reaches libvirt, on the lab's real libvirt
// (lab-noos, backed up into an isolated storage env). Two attackers:
//  - one who edits only the XML: verify sees the checksum mismatch and restore refuses the backup;
//  - one who also rewrites the manifest and checksums.sha256 to match: verify passes, and the
//    allow-list (src/core/restore-xml.ts) leaves out the emulator override, the qemu command line,
//    the host block device and the filesystem passthrough of `/`, each named in a run warning.
// Copies are restored as xa-<pid> and removed (undefined, disks deleted) at the end.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { domains, domstate, dumpxml, removeCopy } from '../helpers/net.js';
import { labHost, labVm, loadLab } from '../lab/lab.js';

interface RestoreJson { name: string; disks: string[]; defined: boolean; run: { status: string; error?: string; warnings: string[] } }
interface ManifestJson { files: { path: string; size_bytes: number; sha256: string }[] }

/** What the attacker adds to the stored definition, and the warning each must produce. */
const EVIL: { xml: string; defined: RegExp; warning: RegExp }[] = [
  { xml: '<emulator>/tmp/evil</emulator>', defined: /\/tmp\/evil/, warning: /^dropped <emulator>\/tmp\/evil<\/emulator> \(the target host's default emulator is used\)$/ },
  { xml: "<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/sda'/><target dev='vdx' bus='virtio'/></disk>", defined: /\/dev\/sda|vdx/, warning: /^dropped <disk type='block' device='disk'>.*<source dev='\/dev\/sda'\/>.*\(a host block device/ },
  { xml: "<filesystem type='mount' accessmode='passthrough'><source dir='/'/><target dir='hostroot'/></filesystem>", defined: /<filesystem|hostroot/, warning: /^dropped <filesystem type='mount' accessmode='passthrough'><source dir='\/'\/>.*host filesystem passthrough/ },
];
const QEMU_NS = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'";
const COMMANDLINE = "<qemu:commandline><qemu:arg value='-device'/><qemu:arg value='pci-testdev'/></qemu:commandline>";

function tamper(xml: string): string {
  const devices = xml.replace(/<emulator>[^<]*<\/emulator>/, '').replace('</devices>', `${EVIL.map((e) => e.xml).join('\n')}\n</devices>`);
  return devices.replace(/<domain type='(\w+)'>/, `<domain type='$1' ${QEMU_NS}>`).replace('</domain>', `${COMMANDLINE}\n</domain>`);
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('restore of a tampered domain XML, on the lab (lab-noos)', { timeout: 300_000 }, () => {
  const tag = process.pid.toString(36);
  let env: LabEnv | undefined;
  let id = '';
  const copies: string[] = [];
  const cli = (...args: string[]) => vmbackup([...args, '--repo', env!.repo, '--state-dir', env!.stateDir, '--json']);
  const VM = (): string => env!.lab.roles.noos;
  const dir = (): string => join(env!.storageDir, labVm(env!.lab, VM()).host, VM(), id);

  before(async () => {
    const l = loadLab();
    if (l?.roles.noos) env = await labEnv(l, { isolate: true });
  });
  after(async () => {
    if (!env) return;
    for (const c of copies) await removeCopy(env.lab, c);
    await env.cleanup();
  });

  const leftovers = async (name: string): Promise<string[]> => (await readdir(labHost(env!.lab, 'local').labImagesDir)).filter((f) => f.startsWith(`${name}-`));

  test('backup lab-noos into an isolated storage env', async (t) => {
    if (!labOrSkip(t)) return;
    assert.ok(env, 'the lab has no lab-noos role');
    const r = await cli('backup', VM());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    id = (JSON.parse(r.stdout) as { backupId: string }).backupId;
    assert.match(await readFile(join(dir(), `${VM()}.xml`), 'utf8'), /<emulator>/);
  });

  test('only the XML tampered: verify refuses the backup, nothing is defined or copied', async (t) => {
    if (!labOrSkip(t)) return;
    assert.ok(id, 'no backup (the backup test failed)');
    const file = join(dir(), `${VM()}.xml`);
    const original = await readFile(file, 'utf8');
    await writeFile(file, tamper(original));
    const name = `xa-${tag}-ref`;
    copies.push(name);
    try {
      const r = await cli('restore', VM(), '--backup', id, '--as', name);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout) as RestoreJson;
      // Whatever verify's wording for a changed file (size or checksum), it names the XML.
      assert.match(out.run.error ?? '', new RegExp(`failed verification, refusing to restore it: (.*; )?${VM()}\\.xml: `));
      assert.equal(out.defined, false);
      assert.ok(!(await domains()).includes(name), `${name} was defined`);
      assert.deepEqual(await leftovers(name), []);
    } finally { await writeFile(file, original); }
  });

  test('XML, manifest and checksums tampered alike: restored --as a copy without any of it, a warning naming each', async (t) => {
    if (!labOrSkip(t)) return;
    assert.ok(id, 'no backup (the backup test failed)');
    // The attacker who can write the storage makes the backup self-consistent again.
    const xmlName = `${VM()}.xml`;
    const evil = tamper(await readFile(join(dir(), xmlName), 'utf8'));
    await writeFile(join(dir(), xmlName), evil);
    const manifestFile = join(dir(), 'backup-metadata.json');
    const m = JSON.parse(await readFile(manifestFile, 'utf8')) as ManifestJson;
    const entry = m.files.find((f) => f.path === xmlName)!;
    entry.sha256 = sha256(evil);
    entry.size_bytes = Buffer.byteLength(evil);
    await writeFile(manifestFile, JSON.stringify(m, null, 2) + '\n');
    const sums = join(dir(), 'checksums.sha256');
    await writeFile(sums, (await readFile(sums, 'utf8')).replace(new RegExp(`^[0-9a-f]{64}(  ${xmlName.replace(/\./g, '\\.')})$`, 'm'), `${entry.sha256}$1`));
    assert.equal((await cli('verify', VM(), '--backup', id)).code, 0, 'the tampered backup verifies (the attacker fixed the checksums)');

    const name = `xa-${tag}`;
    copies.push(name);
    const r = await cli('restore', VM(), '--backup', id, '--as', name, '--network', 'none', '--start');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as RestoreJson;
    assert.equal(out.defined, true);
    const defined = await dumpxml(name, true);
    for (const e of EVIL) {
      assert.doesNotMatch(defined, e.defined);
      assert.ok(out.run.warnings.some((w) => e.warning.test(w)), `no warning matches ${e.warning}:\n${out.run.warnings.join('\n')}`);
    }
    assert.doesNotMatch(defined, /qemu:|commandline|pci-testdev/);
    assert.ok(out.run.warnings.some((w) => w.startsWith("dropped <qemu:commandline><qemu:arg value='-device'/><qemu:arg value='pci-testdev'/></qemu:commandline> (elements in another XML namespace")), out.run.warnings.join('\n'));
    assert.match(defined, /<emulator>\/usr\/(bin|libexec)\/(qemu-system-x86_64|qemu-kvm|kvm)<\/emulator>/, "libvirt's default emulator");
    assert.deepEqual([...defined.matchAll(/<source file='([^']+)'/g)].map((x) => x[1]), out.disks, 'the restored disk only');
    // It runs, and what runs is the definition: no extra device reached qemu.
    assert.equal(await domstate(name), 'running');
    assert.doesNotMatch(await dumpxml(name), /\/tmp\/evil|\/dev\/sda|hostroot|pci-testdev/);
    // The text output prints the same warnings.
    await removeCopy(env!.lab, name);
    const again = await vmbackup(['restore', VM(), '--backup', id, '--as', name, '--network', 'none', '--repo', env!.repo, '--state-dir', env!.stateDir]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^ {2}warning: dropped <emulator>\/tmp\/evil<\/emulator>/m);
    await removeCopy(env!.lab, name);
    assert.ok(!(await domains()).includes(name), `${name} is still defined`);
    assert.deepEqual(await leftovers(name), [], 'its disk is removed');
  });

  test('--keep-host-devices is refused for a copy, before anything is copied', async (t) => {
    if (!labOrSkip(t)) return;
    assert.ok(id, 'no backup (the backup test failed)');
    const name = `xa-${tag}-keep`;
    copies.push(name);
    const r = await cli('restore', VM(), '--backup', id, '--as', name, '--keep-host-devices');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match((JSON.parse(r.stdout) as RestoreJson).run.error ?? '', /--keep-host-devices is only for an in-place restore/);
    assert.ok(!(await domains()).includes(name));
    assert.deepEqual(await leftovers(name), []);
  });
});
