// seed 002's post-backup validation, before the backup is published: the VM is as it was, no
// overlay remains, every file is there and non-empty, checksums.sha256 matches the manifest, and
// every qcow2 passes `qemu-img check`.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKSUM_FILE, isOurOverlay } from '../core/backup-layout.js';
import type { DomainDisk } from '../core/domain-xml.js';
import { parseChecksums, type Manifest } from '../core/manifest.js';
import type { Vm } from '../core/model.js';
import type { Host } from './hosts.js';

export async function postChecks(host: Host, vm: Vm, stateBefore: string, copied: readonly DomainDisk[], dir: string, dirHv: string, m: Manifest): Promise<void> {
  const problems: string[] = [];
  const state = await host.virsh.domstate(vm.name);
  if (stateBefore === 'running' && state !== 'running') problems.push(`VM is ${state} after the backup (was running)`);
  const disks = (await host.virsh.info(vm.name)).disks;
  for (const d of copied) {
    const now = disks.find((x) => x.target === d.target);
    if (isOurOverlay(now?.source)) problems.push(`${d.target} still runs on overlay ${now?.source}`);
    else if (now?.source !== d.source) problems.push(`${d.target} source changed from ${d.source} to ${now?.source}`);
  }
  const sums = parseChecksums(await readFile(join(dir, CHECKSUM_FILE), 'utf8'));
  if (sums.bad.length) problems.push(`${CHECKSUM_FILE} has malformed lines`);
  for (const f of m.files) {
    const size = await stat(join(dir, f.path)).then((x) => x.size, () => -1);
    if (size <= 0) problems.push(`${f.path} is ${size < 0 ? 'missing' : 'empty'}`);
    else if (size !== f.size_bytes) problems.push(`${f.path} is ${size} bytes, manifest says ${f.size_bytes}`);
    if (sums.entries.get(f.path) !== f.sha256) problems.push(`${f.path}: ${CHECKSUM_FILE} and the manifest disagree`);
    // The image's own structure (headers, tables, refcounts; not the data): qemu-img must accept what we publish.
    if (f.format === 'qcow2' && size > 0) {
      const c = await host.qemuImg.check(`${dirHv}/${f.path}`, 'qcow2');
      if (!c.ok) problems.push(`${f.path} fails qemu-img check: ${c.detail.split('\n').slice(0, 3).join(' ')}`);
    }
  }
  if (!m.files.some((f) => f.path === `${vm.name}.xml`)) problems.push('VM XML is missing');
  if (problems.length) throw new Error(`post-checks failed: ${problems.join('; ')}`);
}
