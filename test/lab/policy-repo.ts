// Writes a policy repository that describes the running lab (from lab.json): what the engine
// tests and the demo back up. The local host uses the local transport, hv1/hv2 go over ssh.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { labNetwork, type Lab } from './lab.js';

export interface LabRepoOptions {
  /** Control-host storage root (default: the lab's normal storage). */
  storageRoot?: string;
  /** The namespace hypervisors' view of the same storage. */
  remoteStorageRoot?: string;
  controlDir: string;
  extraVms?: Record<string, unknown>[];
  /** Opt-in lab VMs (the UEFI/vTPM ones) to include; the others are always there. */
  withVms?: string[];
  vmOverrides?: Record<string, Record<string, unknown>>;
  hostOverrides?: Record<string, Record<string, unknown>>;
  backup?: Record<string, unknown>;
}

/** Where the lab has an isolated network (local), restore/test-restore --network isolated use it. */
function isolatedOf(lab: Lab, host: string): { isolated_network?: string } {
  const n = labNetwork(lab, 'isolated', host);
  return n ? { isolated_network: n.name } : {};
}

export function labPolicy(lab: Lab, o: LabRepoOptions): Record<string, unknown> {
  const hypervisors = lab.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    transport: h.transport,
    ssh: { user: 'root', port: h.sshPort, identity: lab.ssh.key },
    storage_root: h.transport === 'local' ? o.storageRoot ?? lab.storage.dir : o.remoteStorageRoot ?? lab.storage.remoteDir,
    min_free_gb: 0,
    libvirt_uri: h.libvirtUri,
    images_dir: h.imagesDir,
    ...isolatedOf(lab, h.name),
    ...o.hostOverrides?.[h.name],
  }));
  const vms = lab.vms.filter((v) => !v.optIn || o.withVms?.includes(v.name)).map((v) => ({
    name: v.name,
    hypervisor: v.host,
    method: v.agent === 'live' ? 'quiesce' : 'snapshot',
    priority: 10,
    schedule: 'weekly',
    retention: { keep_last: 3 },
    ...(v.state === 'shutoff' ? { allow_offline: true } : {}),
    ...o.vmOverrides?.[v.name],
  }));
  return {
    settings: {
      storage_root: o.storageRoot ?? lab.storage.dir,
      scheduler: 'cron',
      ssh: { known_hosts: lab.ssh.knownHosts, control_dir: o.controlDir, connect_timeout_seconds: 5 },
      backup: { agent_timeout_seconds: 5, freeze_timeout_seconds: 30, storage_margin_percent: 5, ...o.backup },
    },
    hypervisors,
    vms: [...vms, ...(o.extraVms ?? [])],
  };
}

export async function writeLabRepo(dir: string, lab: Lab, o: LabRepoOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'lab.yaml'), stringify(labPolicy(lab, o)));
  return dir;
}
