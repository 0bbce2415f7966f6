// Batched observation of one hypervisor: every domain and its state in one `virsh list`, and the
// definitions of the managed VMs in one more virsh call (virsh runs `;`-separated commands
// itself, no shell involved). Remote commands per reconcile stay O(hypervisors), not O(VMs).
import { parseDomainXml, type DomainInfo } from '../core/domain-xml.js';
import type { DomainState } from '../adapters/libvirt/parse.js';
import { UnreachableError } from '../adapters/transport/transport.js';
import type { Host } from './hosts.js';

export interface HostObservation {
  host: string;
  reachable: boolean;
  error?: string;
  /** Every domain libvirt knows on the host, managed or not. */
  domains: Map<string, DomainState>;
  /** Definitions of the requested VMs that exist. */
  details: Map<string, DomainInfo>;
}

/** Names we pass through virsh's own command parser must be plain: ours are (the schema says so). */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export async function observeHost(host: Host, vmNames: readonly string[]): Promise<HostObservation> {
  const obs: HostObservation = { host: host.hv.name, reachable: true, domains: new Map(), details: new Map() };
  try {
    obs.domains = await host.virsh.list();
    const wanted = vmNames.filter((n) => obs.domains.has(n) && SAFE.test(n));
    if (wanted.length) {
      const script = wanted.map((n) => `dumpxml --domain ${n}`).join(' ; ');
      const r = await host.transport.run(host.virsh.uri ? ['virsh', '-q', '-c', host.virsh.uri, script] : ['virsh', '-q', script], { timeoutMs: 60_000 + wanted.length * 200 });
      for (const xml of r.stdout.split(/(?<=<\/domain>)/)) {
        if (!xml.includes('<domain')) continue;
        const info = parseDomainXml(xml.slice(xml.indexOf('<domain')));
        obs.details.set(info.name, info);
      }
    }
  } catch (e) {
    obs.reachable = !(e instanceof UnreachableError);
    obs.error = (e as Error).message;
  }
  return obs;
}
