// In-place restore never loses the current VM: a scratch UEFI + vTPM VM on the lab's local libvirt
// (nv-fault-<pid>) is backed up, then changed (disk, NVRAM, TPM state), then restored in place with
// a failure injected at each step in turn: the copy (real: the NVRAM or swtpm directory read-only
// in the CLI's own mount namespace), `virsh undefine`, `virsh define` and `virsh start` (a fake
// virsh first on PATH that fails that subcommand once and runs the real one otherwise). After
// each, the VM's definition, disk, NVRAM and TPM state are byte for byte what they were, and no
// copy or moved-aside file is left. Last, the same restore without a fault replaces all of them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { fakeVirsh } from '../helpers/fake-virsh.js';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { domState, readManifest, scratchVmPolicy, sh, virsh, type Sh } from '../helpers/faults.js';
import { CLI } from '../helpers/paths.js';
import { loadLab, type Lab } from '../lab/lab.js';

const NVRAM_DIR = '/var/lib/libvirt/qemu/nvram';
const SWTPM = '/var/lib/libvirt/swtpm';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fileSha = async (p: string): Promise<string> => sha(await readFile(p));

function uefiTpmXml(name: string, image: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'/>
    <boot dev='hd'/>
  </os>
  <features><acpi/><tcg><tb-cache unit='MiB'>32</tb-cache></tcg></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

describe('in-place restore (--force --start) of a UEFI + vTPM VM leaves it exactly as it was when any step fails', { timeout: 180_000 }, () => {
  const name = `nv-fault-${process.pid.toString(36)}`;
  let env: LabEnv | undefined;
  let lab: Lab | undefined;
  let image = '';
  let uuid = '';
  let id = '';
  const nvram = `${NVRAM_DIR}/${name}_VARS.fd`;
  const tpm = (): string => `${SWTPM}/${uuid}/tpm2/tpm2-00.permall`;
  const args = (): string[] => ['restore', name, '--backup', id, '--force', '--start', '--repo', env!.repo, '--state-dir', env!.stateDir, '--json'];

  /** Everything that must not change: the definition, and the bytes of disk, NVRAM and TPM state; no stray files. */
  async function current(): Promise<Record<string, string>> {
    const xml = await virsh(lab!, 'local', ['dumpxml', '--domain', name, '--inactive', '--security-info']);
    const stray = [
      ...(await readdir(lab!.hosts.find((h) => h.name === 'local')!.labImagesDir)).filter((f) => f.startsWith(name) && f !== `${name}.qcow2`),
      ...(await readdir(NVRAM_DIR)).filter((f) => f.startsWith(name) && f !== `${name}_VARS.fd`),
      ...(await readdir(`${SWTPM}/${uuid}/tpm2`)).filter((f) => !['tpm2-00.permall', '.lock'].includes(f)),
    ];
    return { state: await domState(lab!, 'local', name), xml: xml.stdout, disk: await fileSha(image), nvram: await fileSha(nvram), tpm: await fileSha(tpm()), stray: stray.join(' ') };
  }

  async function assertFailedAndUnchanged(r: Pick<Sh, 'code' | 'stdout' | 'stderr'>, step: string, want: Record<string, string>): Promise<void> {
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const run = JSON.parse(r.stdout) as { run: { status: string; error: string; steps: { name: string; ok: boolean }[] } };
    assert.equal(run.run.status, 'failed');
    assert.deepEqual(run.run.steps.filter((s) => !s.ok).map((s) => s.name), [step], run.run.error);
    if (step !== 'copy-disks') assert.match(run.run.error, /was left as it was/, run.run.error);
    assert.deepEqual(await current(), want, 'definition, disk, NVRAM and TPM state exactly as before; nothing left beside them');
    assert.deepEqual(await readdir(join(env!.stateDir, 'restores')).catch(() => []), [], 'the saved definition is removed once the VM is back');
  }

  /** Asserts a setup command worked, saying what it printed if not (a CI log shows only the message). */
  const ok = (r: Sh, what: string): void => assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);

  before(async () => {
    const l = loadLab();
    if (!l) return;
    lab = l;
    const local = l.hosts.find((h) => h.name === 'local')!;
    image = join(local.labImagesDir, `${name}.qcow2`);
    ok(await sh(['qemu-img', 'create', '-q', '-f', 'qcow2', image, '64M']), 'qemu-img create');
    ok(await sh(['qemu-io', '-f', 'qcow2', '-c', 'write -q -P 0x5b 0 2097152', image]), 'qemu-io write');
    const xmlFile = join(local.labImagesDir, `${name}.xml`);
    await import('node:fs/promises').then((fs) => fs.writeFile(xmlFile, uefiTpmXml(name, image)));
    ok(await virsh(l, 'local', ['define', '--file', xmlFile]), 'virsh define');
    await rm(xmlFile, { force: true });
    // One start makes libvirt create the NVRAM (from the template) and the swtpm state.
    ok(await virsh(l, 'local', ['start', '--domain', name]), 'virsh start (first start of a UEFI + vTPM VM: NVRAM and swtpm state made)');
    await virsh(l, 'local', ['destroy', '--domain', name]);
    uuid = (await virsh(l, 'local', ['domuuid', '--domain', name])).stdout.trim();
    env = await labEnv(l, { isolate: true, extraVms: [scratchVmPolicy(name, { allow_offline: true })] });
    const b = await vmbackup(['backup', name, '--repo', env.repo, '--state-dir', env.stateDir, '--json']);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    id = (JSON.parse(b.stdout) as { backupId: string }).backupId;
    // Changes since the backup, which a failed restore must keep.
    ok(await sh(['qemu-io', '-f', 'qcow2', '-c', 'write -q -P 0x77 0 65536', image]), 'qemu-io write');
    for (const f of [nvram, tpm()]) ok(await sh(['sh', '-c', 'printf changed | dd of="$1" bs=1 seek=100 conv=notrunc status=none', 'sh', f]), `change ${f}`);
  });
  after(async () => {
    if (!lab) return;
    await virsh(lab, 'local', ['destroy', '--domain', name]);
    await virsh(lab, 'local', ['undefine', '--domain', name, '--nvram', '--tpm']);
    await rm(image, { force: true });
    await env?.cleanup();
  });

  test('the backup holds the NVRAM and the TPM state', async (t) => {
    if (!labOrSkip(t)) return;
    assert.ok(id, 'backup failed');
    const m = await readManifest(join(env!.storageDir, 'local', name, id));
    assert.deepEqual(m.files.filter((f) => f.kind).map((f) => [f.kind, f.source_path]).sort(), [['nvram', nvram], ['tpm', tpm()]]);
  });

  for (const [what, dir] of [['NVRAM', NVRAM_DIR], ['swtpm', SWTPM]] as const) {
    test(`copy fails (the ${what} directory is read-only, real EROFS): nothing changed, the copied disk removed`, async (t) => {
      if (!labOrSkip(t)) return;
      const want = await current();
      // A mount namespace of the CLI's own: the read-only bind mount is seen by nothing else.
      const r = await sh(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind -o ro "$1" "$1" && shift && exec "$@"', 'sh', dir, process.execPath, CLI, ...args()], { timeoutMs: 120_000 });
      assert.match(r.stdout, /Read-only file system/, r.stdout + r.stderr);
      await assertFailedAndUnchanged(r, 'copy-disks', want);
    });
  }

  test('a moved-aside file left by an interrupted restore is never overwritten: refused before any copy', async (t) => {
    if (!labOrSkip(t)) return;
    const want = await current();
    const aside = `${nvram}.vmbackup-prev-${id}`;
    await sh(['cp', '--', nvram, aside]);
    try {
      const r = await vmbackup(args());
      assert.match(r.stdout, /vmbackup-prev-.*exists \(left by an interrupted restore\?\)/, r.stdout + r.stderr);
      assert.equal(await fileSha(aside), want.nvram, 'the aside file is untouched');
      await rm(aside);
      await assertFailedAndUnchanged(r, 'copy-disks', want);
    } finally { await rm(aside, { force: true }); }
  });

  for (const sub of ['undefine', 'define', 'start'] as const) {
    test(`virsh ${sub} fails: files moved back, definition restored`, async (t) => {
      if (!labOrSkip(t)) return;
      const want = await current();
      const fake = await fakeVirsh(sub);
      try {
        const r = await vmbackup(args(), { env: fake.env });
        assert.equal(await fake.fired(), 1, `the fake virsh ${sub} failure fired`);
        await assertFailedAndUnchanged(r, sub === 'undefine' ? 'define' : sub, want);
      } finally { await fake.cleanup(); }
    });
  }

  test('without a fault: disk, NVRAM and TPM state are the backup\'s, the VM runs, nothing is left aside', async (t) => {
    if (!labOrSkip(t)) return;
    const before = await current();
    const r = await vmbackup(args());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await domState(lab!, 'local', name), 'running');
    await virsh(lab!, 'local', ['destroy', '--domain', name]);
    const m = await readManifest(join(env!.storageDir, 'local', name, id));
    const now = await current();
    assert.equal(now.stray, '', 'no copies or moved-aside files left');
    assert.equal(now.xml, before.xml, 'the same definition (same UUID, NVRAM path, disk)');
    assert.notEqual(now.disk, before.disk);
    const io = await sh(['qemu-io', '-r', '-U', '-f', 'qcow2', '-c', 'read -q -P 0x5b 0 65536', image]);
    assert.ok(!/verification failed/.test(io.stdout + io.stderr), 'the disk holds the backup data again');
    // The firmware and swtpm ran since, so compare the markers rather than whole files.
    for (const f of [nvram, tpm()]) assert.ok(!(await readFile(f)).subarray(100, 107).equals(Buffer.from('changed')), `${f}: the change made after the backup is gone`);
    assert.ok(m.files.some((f) => f.kind === 'tpm'));
  });
});
