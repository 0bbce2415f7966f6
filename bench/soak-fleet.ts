// The soak benchmark's fleet, without the lab: N VMs on a few `transport: local` hypervisors whose
// `virsh -c qemu+soak://<hv>/system` is a fake answering from files (bench/fleet-hosts.ts), one
// more hypervisor reached over ssh on a port nothing listens on (unreachable), and a fresh verified
// restore point per VM on local storage, so an idle reconcile has nothing to do but observe.
import { chmodSync, mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE, VERIFY_FILE } from '../src/core/backup-layout.js';
import type { Manifest } from '../src/core/manifest.js';
import { FAKE_VIRSH, domainXml } from './fleet-hosts.js';

/** `virsh` first on the daemon's PATH: picks the host directory from `-c qemu+soak://<hv>/…`. */
const DISPATCH = (hostsDir: string): string => `#!/bin/sh
# Fake virsh for the vmbackup soak benchmark: hands over to the fake of the host named in the URI.
set -f
uri=
prev=
for a in "$@"; do
  [ "$prev" = -c ] && uri=$a
  prev=$a
done
h=\${uri#*://}
h=\${h%%/*}
case "$h" in
  ''|*[!A-Za-z0-9_.-]*) echo "soak virsh: no soak host in URI '$uri'" >&2; exit 1 ;;
esac
exec '${hostsDir}'/"$h"/virsh "$@"
`;

export interface SoakFleet { policy: Record<string, unknown>; pathDir: string; hosts: number; vms: number; unreachable: string }

/** The stored disk of each restore point: a sparse file of this size (the listing checks the size). */
const DISK_BYTES = 1_073_741_824;

const backupId = (d: Date): string => d.toISOString().slice(0, 19).replace('T', '-').replace(/:/g, '');

/** Writes fake hosts, storage and the bin dir under `root`; returns the policy (one YAML file's object). */
export function writeSoakFleet(root: string, vms: number, hosts: number, closedPort: number, now = new Date()): SoakFleet {
  const hostsDir = join(root, 'hosts');
  const storage = join(root, 'storage');
  const bin = join(root, 'bin');
  for (const d of [hostsDir, storage, bin]) mkdirSync(d, { recursive: true });
  writeFileSync(join(hostsDir, 'fake-virsh.sh'), FAKE_VIRSH);
  chmodSync(join(hostsDir, 'fake-virsh.sh'), 0o755);
  writeFileSync(join(bin, 'virsh'), DISPATCH(hostsDir));
  chmodSync(join(bin, 'virsh'), 0o755);
  const hvNames = Array.from({ length: hosts }, (_, i) => `hv-${String(i + 1).padStart(2, '0')}`);
  const unreachable = 'hv-gone';
  const hypervisors: Record<string, unknown>[] = hvNames.map((name) => ({ name, address: '127.0.0.1', transport: 'local', libvirt_uri: `qemu+soak://${name}/system`, storage_root: storage }));
  hypervisors.push({ name: unreachable, address: '127.0.0.1', ssh: { user: 'root', port: closedPort }, storage_root: storage });
  const byHost = new Map<string, string[]>([...hvNames, unreachable].map((h) => [h, []]));
  const vmList: Record<string, unknown>[] = [];
  // Every (hosts+1)-th VM lives on the unreachable host: its VMs are Unknown, every pass.
  const all = [...hvNames, unreachable];
  for (let i = 0; i < vms; i++) {
    const name = `soak-${String(i + 1).padStart(4, '0')}`;
    const hv = all[i % all.length]!;
    byHost.get(hv)!.push(name);
    vmList.push({ name, hypervisor: hv, schedule: 'weekly', retention: { keep_last: 3 } });
  }
  let serial = 0;
  const started = new Date(now.getTime() - 86_400_000);
  const id = backupId(started);
  for (const [hv, names] of byHost) {
    for (const vm of names) {
      const dir = join(storage, hv, vm, id);
      mkdirSync(dir, { recursive: true });
      const finished = new Date(started.getTime() + 600_000).toISOString();
      const m: Manifest = {
        schema: 'vmbackup.manifest/v1', job_id: `run-${id}-${vm}`, backup_id: id, vm_name: vm, vm_uuid: '00000000-0000-4000-8000-000000000000',
        hypervisor: hv, started: started.toISOString(), finished, snapshot: `vmbackup-${id}`, method: 'snapshot',
        consistency: 'filesystem', warnings: [], durations_ms: { copy_ms: 1000, total_ms: 2000 }, total_size_bytes: DISK_BYTES,
        files: [{ path: `${vm}-vda.qcow2`, size_bytes: DISK_BYTES, sha256: 'ab'.repeat(32), target: 'vda', format: 'qcow2' }],
        policy: { revision: '0'.repeat(40) }, vmbackup_version: '0.1.0',
      };
      writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n');
      writeFileSync(join(dir, `${vm}-vda.qcow2`), '');
      truncateSync(join(dir, `${vm}-vda.qcow2`), DISK_BYTES);
      writeFileSync(join(dir, VERIFY_FILE), JSON.stringify({ result: 'ok', at: finished, problems: [] }, null, 2) + '\n');
    }
    if (hv === unreachable) continue;
    const dir = join(hostsDir, hv);
    mkdirSync(join(dir, 'xml'), { recursive: true });
    symlinkSync(join(hostsDir, 'fake-virsh.sh'), join(dir, 'virsh'));
    const lines = names.map((vm, i) => {
      writeFileSync(join(dir, 'xml', `${vm}.xml`), domainXml(vm, ++serial, ['vda'], true));
      return ` ${String(i + 1).padEnd(4)} ${vm.padEnd(12)}   running`;
    });
    writeFileSync(join(dir, 'list.txt'), lines.join('\n') + (lines.length ? '\n' : ''));
  }
  const policy = {
    settings: { storage_root: storage, scheduler: 'cron', ssh: { control_dir: join(root, 'ssh'), connect_timeout_seconds: 2 } },
    hypervisors,
    vms: vmList,
  };
  return { policy, pathDir: bin, hosts: hosts + 1, vms, unreachable };
}
