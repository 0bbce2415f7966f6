// Fake hypervisors for bench/reconcile-fleet.ts: one directory per host holding a `virsh` (a small
// /bin/sh script, no node start-up) that answers `virsh -q [-c URI] list --all` and the batched
// `dumpxml --domain A ; dumpxml --domain B …` from files beside it, as libvirt would on that host.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fleet, VmSpec } from './generate.js';

/**
 * The remote side of one host. `$0` is `<host dir>/virsh` (a symlink to the shared script), so
 * `${0%/*}` is that host's directory. Names are ours, plain (`[A-Za-z0-9_.-]`), so word
 * splitting with globbing off is safe. Anything else exits 1, so an unexpected command shows up.
 */
export const FAKE_VIRSH = `#!/bin/sh
# Fake virsh for the vmbackup fleet benchmark (answers from files beside the link).
set -f
d=\${0%/*}
while [ $# -gt 0 ]; do
  case "$1" in
    -q) shift ;;
    -c) shift 2 ;;
    *) break ;;
  esac
done
case "$1" in
  list) exec cat "$d/list.txt" ;;
  dumpxml*)
    files=
    next=
    for w in $1; do
      if [ "$next" = 1 ]; then files="$files $d/xml/$w.xml"; next=; fi
      [ "$w" = --domain ] && next=1
    done
    exec cat $files ;;
  *) echo "fake virsh: unsupported command: $*" >&2; exit 1 ;;
esac
`;

export interface FakeHostsSummary { hosts: number; domains: number; managedPresent: number; unmanaged: number; missing: number; overlays: number; xmlBytes: number }

const hex = (n: number, w: number): string => (n >>> 0).toString(16).padStart(w, '0').slice(-w);

/** A libvirt domain as `virsh dumpxml` prints it for a running KVM guest (≈4 KB, like production). */
export function domainXml(name: string, serial: number, disks: string[], running: boolean, overlayOn?: string): string {
  const id = running ? ` id='${serial % 9000 + 1}'` : '';
  const uuid = `${hex(serial, 8)}-${hex(serial * 7, 4)}-4${hex(serial, 3)}-8${hex(serial * 13, 3)}-${hex(serial * 2654435761, 12)}`;
  const diskXml = disks.map((t, i) => {
    const base = `/var/lib/libvirt/images/${name}-${t}.qcow2`;
    const src = overlayOn === t ? `/var/lib/libvirt/images/${name}-${t}.vmbackup-2026-11-30-120000.overlay.qcow2` : base;
    return `    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' io='native' discard='unmap'/>
      <source file='${src}' index='${i + 1}'/>
      <backingStore/>
      <target dev='${t}' bus='virtio'/>
      <alias name='virtio-disk${i}'/>
      <address type='pci' domain='0x0000' bus='0x0${i + 4}' slot='0x00' function='0x0'/>
    </disk>`;
  }).join('\n');
  return `<domain type='kvm'${id}>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://redhat.com/rhel/9.2"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>8388608</currentMemory>
  <vcpu placement='static'>4</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <os>
    <type arch='x86_64' machine='pc-q35-rhel9.2.0'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='host-model' check='partial'/>
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
    <timer name='hpet' present='no'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/libexec/qemu-kvm</emulator>
${diskXml}
    <controller type='usb' index='0' model='qemu-xhci' ports='15'>
      <alias name='usb'/>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </controller>
    <controller type='pci' index='0' model='pcie-root'>
      <alias name='pcie.0'/>
    </controller>
    <controller type='virtio-serial' index='0'>
      <alias name='virtio-serial0'/>
      <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
    </controller>
    <interface type='bridge'>
      <mac address='52:54:00:${hex(serial >> 16, 2)}:${hex(serial >> 8, 2)}:${hex(serial, 2)}'/>
      <source bridge='br0'/>
      <target dev='vnet${serial % 1000}'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/${serial % 100}'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/${serial % 100}'>
      <source path='/dev/pts/${serial % 100}'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <channel type='unix'>
      <source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-${serial % 9000 + 1}-${name}/org.qemu.guest_agent.0'/>
      <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>
      <alias name='channel0'/>
      <address type='virtio-serial' controller='0' bus='0' port='1'/>
    </channel>
    <input type='tablet' bus='usb'>
      <alias name='input0'/>
      <address type='usb' bus='0' port='1'/>
    </input>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video>
      <model type='virtio' heads='1' primary='yes'/>
      <alias name='video0'/>
    </video>
    <memballoon model='virtio'>
      <alias name='balloon0'/>
    </memballoon>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
      <alias name='rng0'/>
    </rng>
  </devices>
  <seclabel type='dynamic' model='selinux' relabel='yes'>
    <label>system_u:system_r:svirt_t:s0:c${serial % 1024},c${(serial * 7) % 1024}</label>
    <imagelabel>system_u:object_r:svirt_image_t:s0:c${serial % 1024},c${(serial * 7) % 1024}</imagelabel>
  </seclabel>
</domain>
`;
}

const disksOf = (vm: VmSpec, serial: number): string[] => (vm.disks?.include ? [...vm.disks.include] : serial % 3 === 0 ? ['vda', 'vdb'] : ['vda']);

/**
 * Writes `<root>/<hv>/{virsh,list.txt,xml/<vm>.xml}` for every hypervisor of the fleet. Each host
 * runs its repo VMs, except: every 50th host lacks one (a "missing" VM), every 25th runs one VM
 * no policy knows ("unprotected"), every 100th has a VM still on one of our overlays (a crashed
 * backup's leftover: a cleanup action). VMs with allow_offline or disabled are shut off.
 */
export function writeFakeHosts(root: string, fleet: Fleet): FakeHostsSummary {
  mkdirSync(root, { recursive: true });
  const script = join(root, 'fake-virsh.sh');
  writeFileSync(script, FAKE_VIRSH);
  chmodSync(script, 0o755);
  const sum: FakeHostsSummary = { hosts: 0, domains: 0, managedPresent: 0, unmanaged: 0, missing: 0, overlays: 0, xmlBytes: 0 };
  let serial = 0;
  fleet.hypervisors.forEach((hv, h) => {
    const dir = join(root, hv.name);
    mkdirSync(join(dir, 'xml'), { recursive: true });
    symlinkSync(script, join(dir, 'virsh'));
    const doms: { name: string; running: boolean }[] = [];
    const vms = fleet.vmsByHv.get(hv.name) ?? [];
    vms.forEach((vm, i) => {
      serial++;
      if (h % 50 === 7 && i === 0) { sum.missing++; return; }
      const running = !(vm.allow_offline || vm.enabled === false);
      const overlayOn = h % 100 === 3 && i === 1 ? 'vda' : undefined;
      if (overlayOn) sum.overlays++;
      const xml = domainXml(vm.name, serial, disksOf(vm, serial), running, overlayOn);
      sum.xmlBytes += xml.length;
      writeFileSync(join(dir, 'xml', `${vm.name}.xml`), xml);
      doms.push({ name: vm.name, running });
      sum.managedPresent++;
    });
    if (h % 25 === 11) {
      serial++;
      const name = `stray-${hv.name}`.slice(0, 64);
      writeFileSync(join(dir, 'xml', `${name}.xml`), domainXml(name, serial, ['vda'], true));
      doms.push({ name, running: true });
      sum.unmanaged++;
    }
    const w = Math.max(4, ...doms.map((d) => d.name.length));
    let id = 0;
    const lines = doms.map((d) => ` ${(d.running ? String(++id) : '-').padEnd(4)} ${d.name.padEnd(w)}   ${d.running ? 'running' : 'shut off'}`);
    writeFileSync(join(dir, 'list.txt'), lines.join('\n') + (lines.length ? '\n' : ''));
    sum.hosts++;
    sum.domains += doms.length;
  });
  return sum;
}
