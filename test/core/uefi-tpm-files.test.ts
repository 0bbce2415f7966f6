// The pure and argv parts of UEFI NVRAM / vTPM handling, without the lab: what parseDomainXml
// reads, where the layout puts the files (and what it refuses), which state files a backup takes,
// and the exact virsh argv for undefine (keep or remove, always explicit) with a leading-dash name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asidePath, nvramFileName, nvramPathFor, tpmFileName, tpmStatePath } from '../../src/core/backup-layout.js';
import { parseDomainXml } from '../../src/core/domain-xml.js';
import { Virsh } from '../../src/adapters/libvirt/virsh.js';
import type { RunOptions, RunResult, Transport } from '../../src/adapters/transport/transport.js';
import { vmStateFiles } from '../../src/engine/copy-vm-state.js';

const UUID = '99e4764e-5d03-4665-a324-c69a00effe9e';
const xml = (os: string, devices: string): string => `<domain type='kvm'><name>vm1</name><uuid>${UUID}</uuid><os><type arch='x86_64' machine='q35'>hvm</type>${os}</os><devices>${devices}</devices></domain>`;
const UEFI = "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/vm1_VARS.fd</nvram>";

test('parseDomainXml reads the NVRAM file and template, and the TPM model, backend and version', () => {
  const d = parseDomainXml(xml(UEFI, "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"));
  assert.deepEqual(d.nvram, { path: '/var/lib/libvirt/qemu/nvram/vm1_VARS.fd', template: '/usr/share/OVMF/OVMF_VARS_4M.fd' });
  assert.deepEqual(d.tpm, { model: 'tpm-crb', backend: 'emulator', version: '2.0' });
  const bios = parseDomainXml(xml('', ''));
  assert.equal(bios.nvram, undefined);
  assert.equal(bios.tpm, undefined);
  assert.deepEqual(parseDomainXml(xml("<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'/>", '')).nvram, { path: '', template: '/usr/share/OVMF/OVMF_VARS_4M.fd' });
  assert.deepEqual(parseDomainXml(xml('', "<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>")).tpm, { model: 'tpm-tis', backend: 'passthrough' });
});

test('layout: libvirt standard paths for a new VM, names in a backup, and refusals', () => {
  assert.equal(nvramPathFor('nv-copy'), '/var/lib/libvirt/qemu/nvram/nv-copy_VARS.fd');
  assert.throws(() => nvramPathFor('../../etc/x'), /unsafe path component/);
  assert.equal(tpmStatePath(UUID), `/var/lib/libvirt/swtpm/${UUID}/tpm2/tpm2-00.permall`);
  assert.equal(tpmStatePath(UUID.toUpperCase(), '1.2'), `/var/lib/libvirt/swtpm/${UUID}/tpm1.2/tpm-00.permall`);
  assert.throws(() => tpmStatePath('../../../etc'), /invalid domain UUID/);
  assert.equal(nvramFileName('vm1'), 'vm1-nvram.fd');
  assert.equal(tpmFileName('vm1'), 'vm1-tpm-state.permall');
  assert.equal(asidePath('/i/vm1.qcow2', '2026-01-02-030405'), '/i/vm1.qcow2.vmbackup-prev-2026-01-02-030405');
  assert.throws(() => asidePath('/i/vm1.qcow2', '../x'), /invalid backup id/);
});

test('a backup takes the NVRAM file libvirt names and the emulated TPM state under the UUID; never a passthrough TPM; never a relative path', () => {
  const w: string[] = [];
  assert.deepEqual(vmStateFiles('vm1', parseDomainXml(xml(UEFI, "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>")), w), [
    { kind: 'nvram', source: '/var/lib/libvirt/qemu/nvram/vm1_VARS.fd', name: 'vm1-nvram.fd' },
    { kind: 'tpm', source: `/var/lib/libvirt/swtpm/${UUID}/tpm2/tpm2-00.permall`, name: 'vm1-tpm-state.permall', version: '2.0' },
  ]);
  assert.deepEqual(w, []);
  const pt = vmStateFiles('vm1', parseDomainXml(xml('', "<tpm model='tpm-tis'><backend type='passthrough'/></tpm>")), w);
  assert.deepEqual(pt, []);
  assert.match(w[0]!, /passthrough device: its state lives in hardware/);
  assert.throws(() => vmStateFiles('vm1', parseDomainXml(xml("<nvram>-delete/x_VARS.fd</nvram>", '')), []), /HOST_PATH_UNSAFE/);
});

class Recorder implements Transport {
  readonly kind = 'local' as const;
  readonly host = 'hv';
  calls: string[][] = [];
  async run(argv: readonly string[], _o?: RunOptions): Promise<RunResult> {
    this.calls.push([...argv]);
    return { exitCode: 0, stdout: '', stderr: '', command: argv.join(' '), durationMs: 0 };
  }
  async close(): Promise<void> {}
}

test('virsh undefine always says keep or remove for NVRAM and TPM; a name starting with "-" stays the --domain value', async () => {
  const t = new Recorder();
  const v = new Virsh(t, 'qemu:///system');
  await v.undefine('-rf');
  await v.undefine('copy', { nvram: 'remove', tpm: 'remove' });
  await v.undefine('vm1', { nvram: 'keep', tpm: 'remove' });
  await v.dumpxmlForRedefine('--nvram');
  assert.deepEqual(t.calls, [
    ['virsh', '-q', '-c', 'qemu:///system', 'undefine', '--domain', '-rf', '--keep-nvram', '--keep-tpm'],
    ['virsh', '-q', '-c', 'qemu:///system', 'undefine', '--domain', 'copy', '--nvram', '--tpm'],
    ['virsh', '-q', '-c', 'qemu:///system', 'undefine', '--domain', 'vm1', '--keep-nvram', '--tpm'],
    ['virsh', '-q', '-c', 'qemu:///system', 'dumpxml', '--domain', '--nvram', '--inactive', '--security-info'],
  ]);
});
