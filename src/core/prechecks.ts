// Which disks a backup copies, and whether it may start: pure decisions over what the shell
// observed (seed 002's pre-backup checks). Any failure aborts before anything is touched.
import type { DomainDisk } from './domain-xml.js';
import { isOurOverlay } from './backup-layout.js';
import type { Vm } from './model.js';
import { quiesceFallback } from './quiesce-policy.js';

export interface DiskSelection {
  copy: DomainDisk[];
  skipped: { target: string; reason: string }[];
}

/** cdroms, floppies and read-only disks are never copied; include/exclude lists narrow the rest. */
export function selectDisks(disks: readonly DomainDisk[], rule: Vm['disks']): DiskSelection {
  const copy: DomainDisk[] = [];
  const skipped: DiskSelection['skipped'] = [];
  for (const d of disks) {
    if (d.device !== 'disk') skipped.push({ target: d.target, reason: d.device });
    else if (d.readonly) skipped.push({ target: d.target, reason: 'read-only' });
    else if (rule.include.length && !rule.include.includes(d.target)) skipped.push({ target: d.target, reason: 'not in disks.include' });
    else if (rule.exclude.includes(d.target)) skipped.push({ target: d.target, reason: 'in disks.exclude' });
    else copy.push(d);
  }
  return { copy, skipped };
}

export interface ImageFacts { target: string; format: string; backing?: string; dataFile?: string; allocatedBytes: number }

export interface PrecheckInput {
  vm: Vm;
  state: string | undefined;
  disks: DiskSelection;
  images: ImageFacts[];
  /** Only asked for method quiesce. */
  agentAnswers?: boolean;
  snapshotNames: string[];
  storage: { writable: boolean; availBytes: number; error?: string };
  hypervisorFree: { availBytes: number; path: string; minFreeGiB: number };
  marginPercent: number;
}

export interface PrecheckResult {
  ok: boolean;
  failures: string[];
  warnings: string[];
  /** Bytes the backup is expected to write (allocated + margin). */
  requiredBytes: number;
  /** quiesce falls back to crash-consistent when the agent is silent. */
  quiesce: boolean;
}

const GiB = 1024 ** 3;

export function evaluatePrechecks(i: PrecheckInput): PrecheckResult {
  const failures: string[] = [];
  const warnings: string[] = [];
  if (i.state === undefined) failures.push(`VM ${i.vm.name} does not exist on ${i.vm.hypervisor}`);
  else if (i.state !== 'running' && !(i.state === 'shut off' && i.vm.allowOffline)) {
    failures.push(`VM ${i.vm.name} is ${i.state}${i.state === 'shut off' ? ' (set allow_offline: true to back up stopped VMs)' : ''}`);
  }
  if (!i.disks.copy.length) failures.push('no disk to back up after include/exclude, cdrom and read-only filtering');
  for (const d of i.disks.copy) {
    if (d.type === 'network' || d.type === 'volume') failures.push(`disk ${d.target}: ${d.type} disks are not supported`);
    if (!d.source) failures.push(`disk ${d.target}: no source`);
    if (isOurOverlay(d.source)) failures.push(`disk ${d.target} still runs on a vmbackup overlay (${d.source}): run vmbackup cleanup ${i.vm.name}`);
    else if (d.backing.length) failures.push(`disk ${d.target} has a foreign snapshot/backing chain (${d.backing.join(' <- ')}); vmbackup will not touch it`);
  }
  for (const img of i.images) {
    if (img.format !== 'qcow2' && img.format !== 'raw') failures.push(`disk ${img.target}: unsupported format ${img.format}`);
    if (img.backing) failures.push(`disk ${img.target}: image has a backing file ${img.backing}; refusing (unexpected backing chain)`);
    if (img.dataFile) failures.push(`disk ${img.target}: image has an external data file ${img.dataFile}; refusing`);
  }
  if (i.snapshotNames.length) failures.push(`foreign snapshots exist: ${i.snapshotNames.join(', ')}`);
  let quiesce = i.vm.method === 'quiesce' && i.state === 'running';
  if (quiesce && i.agentAnswers === false) {
    quiesce = false;
    const f = quiesceFallback(i.vm, 'the guest agent did not answer', 'guest agent did not answer: falling back to a crash-consistent snapshot');
    if (f.fail) failures.push(f.error); else warnings.push(f.warning);
  }
  const allocated = i.images.reduce((n, x) => n + x.allocatedBytes, 0);
  const requiredBytes = Math.ceil(allocated * (1 + i.marginPercent / 100));
  if (i.storage.error) failures.push(`backup storage: ${i.storage.error}`);
  else if (!i.storage.writable) failures.push('backup storage is not writable');
  else if (i.storage.availBytes < requiredBytes) failures.push(`backup storage has ${fmt(i.storage.availBytes)} free; this backup needs ${fmt(requiredBytes)} (allocated + ${i.marginPercent}%)`);
  const hv = i.hypervisorFree;
  if (hv.availBytes < hv.minFreeGiB * GiB) failures.push(`hypervisor has ${fmt(hv.availBytes)} free on ${hv.path}; at least ${hv.minFreeGiB} GiB required (min_free_gb)`);
  return { ok: failures.length === 0, failures, warnings, requiredBytes, quiesce };
}

export function fmt(bytes: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let k = 0;
  while (v >= 1024 && k < u.length - 1) { v /= 1024; k++; }
  return `${v.toFixed(k ? 1 : 0)} ${u[k]}`;
}
