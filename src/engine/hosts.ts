// One Host per hypervisor: its transport and the virsh/qemu-img/file helpers bound to it.
// Built lazily, so a run that touches one hypervisor opens one connection.
import type { DesiredState, Hypervisor } from '../core/model.js';
import { HostFs } from '../adapters/host-fs.js';
import { QemuImg } from '../adapters/libvirt/qemu-img.js';
import { Virsh } from '../adapters/libvirt/virsh.js';
import { LocalTransport } from '../adapters/transport/local.js';
import { SshTransport } from '../adapters/transport/ssh.js';
import type { Transport } from '../adapters/transport/transport.js';

export interface Host {
  hv: Hypervisor;
  transport: Transport;
  virsh: Virsh;
  qemuImg: QemuImg;
  fs: HostFs;
}

export type TransportFactory = (hv: Hypervisor, d: DesiredState) => Transport;

export const defaultTransport: TransportFactory = (hv, d) =>
  hv.transport === 'local'
    ? new LocalTransport(hv.name)
    : new SshTransport(
      { host: hv.name, address: hv.address, user: hv.ssh.user, port: hv.ssh.port, ...(hv.ssh.identity ? { identity: hv.ssh.identity } : {}) },
      { ...(d.settings.ssh.knownHosts ? { knownHosts: d.settings.ssh.knownHosts } : {}), strictHostKeyChecking: d.settings.ssh.strictHostKeyChecking, controlDir: d.settings.ssh.controlDir, connectTimeoutSec: d.settings.ssh.connectTimeoutSec },
    );

export class Hosts {
  private readonly cache = new Map<string, Host>();
  constructor(private readonly desired: DesiredState, private readonly factory: TransportFactory = defaultTransport) {}

  get(name: string): Host {
    let h = this.cache.get(name);
    if (h) return h;
    const hv = this.desired.hypervisors.find((x) => x.name === name);
    if (!hv) throw new Error(`hypervisor ${name} is not in the policy repo`);
    const transport = this.factory(hv, this.desired);
    h = { hv, transport, virsh: new Virsh(transport, hv.libvirtUri), qemuImg: new QemuImg(transport), fs: new HostFs(transport) };
    this.cache.set(name, h);
    return h;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.cache.values()].map((h) => h.transport.close()));
  }
}
