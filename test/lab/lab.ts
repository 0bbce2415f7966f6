// Typed access to the test lab that test/lab/up.sh brings up (see test/lab/README.md).
// Integration tests call loadLab() and skip themselves when it returns undefined (no lab here).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type LabAgent = 'live' | 'dead' | 'none';

export interface LabPatternRun {
  /** Fill byte, e.g. `0xab`, as qemu-io's `read -P` takes it. */
  byte: string;
  offset: number;
  length: number;
}

export interface LabDisk {
  target: string;
  /** As the VM's hypervisor sees it: use it in commands run there (through ssh). */
  path: string;
  /** As the machine running the tests sees it (same as `path` for the local host). */
  labPath: string;
  format: 'qcow2';
  virtualBytes: number;
  /** Data written when the disk was made; empty for the agent VM's ext4 disk. */
  pattern: LabPatternRun[];
}

export interface LabNic {
  mac: string;
  /** The libvirt network it is attached to (`<interface type='network'>`). */
  network: string;
  /** A fixed tap device name (`<target dev>`), or null when libvirt picks one (vnetN). */
  tap: string | null;
  model: 'virtio';
}

/**
 * A libvirt network of the lab. `prod` stands for a production network; `isolated` is the one
 * restore/test-restore `--network isolated` attach NICs to (the host's `isolated_network`).
 * Both are bridge-mode networks on bridges with no uplink and no address (see net.sh).
 */
export interface LabNetwork {
  name: string;
  host: string;
  bridge: string;
  role: 'prod' | 'isolated';
}

export interface LabVm {
  name: string;
  host: string;
  state: 'running' | 'shutoff';
  virtType: 'kvm' | 'qemu';
  os: 'none' | 'linux';
  /** live: a real qemu-guest-agent; dead: a channel with no agent behind it; none: no channel. */
  agent: LabAgent;
  memoryMiB: number;
  disks: LabDisk[];
  /** Its NICs, in order (absent in a lab.json from before networks were added). */
  nics?: LabNic[];
  /** bios (SeaBIOS) or uefi (OVMF); absent in a lab.json from before UEFI VMs (= bios). */
  firmware?: 'bios' | 'uefi';
  /** The domain's UUID when up.sh last ran (it names the swtpm state dir). */
  uuid?: string;
  /** Left out of policies built from lab.json unless a test names it (see policy-repo.ts `withVms`). */
  optIn?: boolean;
  /** UEFI VMs: the NVRAM file as the VM's host sees it, as the test runner sees it, and its template. */
  nvram?: { path: string; labPath: string; template: string } | null;
  /** An emulated TPM (swtpm): state in /var/lib/libvirt/swtpm/<uuid>/tpm2 on the VM's host. */
  tpm?: { model: 'tpm-crb'; backend: 'emulator'; version: '2.0' } | null;
}

export interface LabHost {
  name: string;
  /** `local` for this machine (its libvirtd is also reachable over ssh), `ssh` for hvN. */
  transport: 'local' | 'ssh';
  address: string;
  sshPort: number;
  /** The URI to use on the host itself, e.g. `ssh root@addr virsh -c <libvirtUri> ...`. */
  libvirtUri: string;
  /** A remote URI usable from the test runner without touching ~/.ssh. */
  remoteUri: string;
  netns: string | null;
  /** Prefix that runs a command "on" the host without ssh (empty for local). */
  exec: string[];
  vms: string[];
  /** Backup storage as the host sees it (/mnt/backup on hvN). */
  storageRoot: string;
  smallStorageRoot: string;
  imagesDir: string;
  labImagesDir: string;
  labLogDir: string;
  libvirtdOwned: boolean;
}

export interface Lab {
  version: 1;
  labDir: string;
  createdAt: string;
  kvm: boolean;
  agentBootSeconds: number | null;
  ssh: { user: string; key: string; publicKey: string; knownHosts: string; config: string; options: string[] };
  storage: { dir: string; smallDir: string; smallBytes: number; remoteDir: string; remoteSmallDir: string };
  roles: {
    noos: string;
    agent: string | null;
    deadAgent: string;
    noChannel: string;
    multiDisk: string;
    big: string;
    offline: string;
    /** The VM with NICs on the prod network (absent in a lab.json from before networks). */
    net?: string;
    /** A UEFI VM (OVMF, NVRAM) on local, and a UEFI VM with a vTPM on hv1 (absent before they existed). */
    uefi?: string;
    tpm?: string;
  };
  /** Absent in a lab.json from before networks were added: re-run up.sh. */
  networks?: LabNetwork[];
  hosts: LabHost[];
  vms: LabVm[];
}

export function labDir(): string {
  return process.env['VMBACKUP_LAB_DIR'] ?? '/var/tmp/vmbackup-lab';
}

/** The running lab's description, or undefined when no lab is up on this machine. */
export function loadLab(dir: string = labDir()): Lab | undefined {
  const file = join(dir, 'lab.json');
  if (!existsSync(file)) return undefined;
  const lab = JSON.parse(readFileSync(file, 'utf8')) as Lab;
  if (lab.version !== 1) throw new Error(`${file}: unsupported lab version ${String(lab.version)}`);
  return lab;
}

export function labHost(lab: Lab, name: string): LabHost {
  const host = lab.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no lab host ${name}`);
  return host;
}

export function labVm(lab: Lab, name: string): LabVm {
  const vm = lab.vms.find((v) => v.name === name);
  if (!vm) throw new Error(`no lab VM ${name}`);
  return vm;
}

/** The lab network with this role on this host, if the lab has one. */
export function labNetwork(lab: Lab, role: LabNetwork['role'], host = 'local'): LabNetwork | undefined {
  return lab.networks?.find((n) => n.role === role && n.host === host);
}

/** argv for `ssh` to a lab host, strict host key checking included; append the remote command. */
export function labSshArgv(lab: Lab, host: LabHost): string[] {
  return ['ssh', ...lab.ssh.options, '-p', String(host.sshPort), `${lab.ssh.user}@${host.address}`];
}
