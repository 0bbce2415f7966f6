// A UEFI VM's NVRAM and an emulated TPM's state belong to the VM as much as its disks: the
// hypervisor copies them itself into the backup directory (never through the control host), while
// the disks are frozen on their snapshot; each is hashed from storage and listed with its kind.
import { join } from 'node:path';
import { nvramFileName, tpmFileName, tpmStatePath } from '../core/backup-layout.js';
import type { DomainInfo } from '../core/domain-xml.js';
import { hostPath } from '../core/host-path.js';
import type { ManifestFile } from '../core/manifest.js';
import { sha256File } from '../adapters/storage/hash.js';
import type { Host } from './hosts.js';

interface StateFile { kind: 'nvram' | 'tpm'; source: string; name: string; version?: string }

/** What of `info` is VM state beside the disks, as files on its host. */
export function vmStateFiles(vm: string, info: DomainInfo, warnings: string[]): StateFile[] {
  const out: StateFile[] = [];
  if (info.nvram) {
    if (info.nvram.path) out.push({ kind: 'nvram', source: hostPath(info.nvram.path), name: nvramFileName(vm) });
    else warnings.push('the VM has UEFI NVRAM but libvirt has not named its file yet: a restore starts from the firmware template');
  }
  if (info.tpm?.backend === 'emulator') out.push({ kind: 'tpm', source: tpmStatePath(info.uuid, info.tpm.version), name: tpmFileName(vm), version: info.tpm.version ?? '2.0' });
  else if (info.tpm) warnings.push(`the VM's TPM is a ${info.tpm.backend} device: its state lives in hardware and is not in the backup`);
  return out;
}

/** Copies the state files on the hypervisor into `dirHv` (the same directory as `dirCtl` on the control host). */
export async function copyVmState(host: Host, vm: string, info: DomainInfo, dirCtl: string, dirHv: string, warnings: string[]): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  for (const f of vmStateFiles(vm, info, warnings)) {
    if (!(await host.fs.exists(f.source))) {
      // A VM never started since it was defined has none yet: libvirt makes them at the first start.
      warnings.push(`${f.kind === 'nvram' ? 'NVRAM file' : 'vTPM state'} ${f.source} does not exist yet (never started?): not in the backup`);
      continue;
    }
    const dest = `${dirHv}/${f.name}`;
    await host.fs.copyFile(f.source, dest);
    await host.fs.chmod('0640', dest);
    const h = await sha256File(join(dirCtl, f.name), undefined, { sync: true });
    files.push({ path: f.name, size_bytes: h.bytes, sha256: h.sha256, kind: f.kind, source_path: f.source, ...(f.version ? { tpm_version: f.version } : {}) });
  }
  return files;
}
