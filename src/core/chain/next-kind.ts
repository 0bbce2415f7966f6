// Whether the next backup of a VM can be an incremental on its newest point, or must be a full,
// and why (the reason goes into the run's warnings). Pure: the engine gathers the facts, this decides.
import { BACKUP_ID_RE, newestIdFirst } from '../backup-layout.js';
import type { BackupKind } from '../manifest.js';
import { chainOf, type ChainPoint } from './points.js';

export const CHECKPOINT_PREFIX = 'vmbackup-';

/** The libvirt checkpoint vmbackup creates with the point `id`. */
export function checkpointName(id: string): string {
  return `${CHECKPOINT_PREFIX}${id}`;
}

export interface IncrementalPolicy {
  /** Restore points per chain: one full then fullEvery-1 incrementals; 1 = always full. */
  fullEvery: number;
  /** A new full when the chain's full is at least this many days old. */
  fullEveryDays?: number;
}

export interface CurrentDisk {
  target: string;
  /** `qcow2`, `raw`, ... as the domain XML says. */
  format: string;
  virtualSizeBytes: number;
}

export interface NextKindInput {
  /** The VM's stored points as the storage listing found them (any order). */
  points: readonly ChainPoint[];
  /** The disks the backup would copy now. */
  disks: readonly CurrentDisk[];
  /** The VM's libvirt checkpoint names now (all of them; only `vmbackup-*` matter). */
  checkpoints: readonly string[];
  running: boolean;
  /** libvirt/QEMU offer the backup API (backup-begin with checkpoints) for this VM. */
  backupApi: boolean;
  /** Identity of the storage the backup goes to now (e.g. filesystem id of the storage root). */
  storageId?: string;
  /** The identity recorded when the newest point was taken; absent = unknown (not compared). */
  previousStorageId?: string;
  /** ISO time of the decision. */
  now: string;
}

export interface NextKind {
  kind: BackupKind;
  /** Incremental only: the point it builds on. */
  parent?: string;
  /** A readable sentence for the run's warnings / log. */
  reason: string;
  /** True when the full was forced by lost tracking (a warning), false when the policy asked for it or it is an incremental. */
  warn: boolean;
}

const DAY_MS = 86_400_000;

function full(reason: string, warn = true): NextKind {
  return { kind: 'full', reason: `full backup: ${reason}`, warn };
}

export function nextBackupKind(input: NextKindInput, policy: IncrementalPolicy): NextKind {
  if (!(policy.fullEvery > 1)) return full('incremental backups are off (full_every 1)', false);
  if (!input.running) return full('the VM is shut off, so changed blocks cannot be tracked');
  if (!input.backupApi) return full("libvirt's backup API (checkpoints) is not available for this VM");
  const raw = input.disks.filter((d) => d.format !== 'qcow2');
  if (raw.length > 0) return full(`disk ${raw.map((d) => `${d.target} (${d.format})`).join(', ')} is not qcow2, so it has no dirty bitmap`);

  const sorted = [...input.points].filter((p) => BACKUP_ID_RE.test(p.id)).sort(newestIdFirst);
  const newestCheckpoint = input.checkpoints
    .filter((c) => c.startsWith(CHECKPOINT_PREFIX) && BACKUP_ID_RE.test(c.slice(CHECKPOINT_PREFIX.length)))
    .sort()
    .at(-1);
  const prev = sorted[0];
  if (prev === undefined) return full('there is no previous restore point to build on', false);
  const cpId = newestCheckpoint?.slice(CHECKPOINT_PREFIX.length);
  if (cpId !== undefined && cpId > prev.id) return full(`the point ${cpId} of the VM's newest checkpoint is no longer on storage (pruned or deleted)`);

  const chain = chainOf(input.points, prev.id);
  if (chain.broken !== undefined) return full(`the previous point cannot be built on: ${chain.broken}`);
  if (chain.notGood !== undefined) return full(`the previous point's chain is not good: ${chain.notGood}`);
  if (!input.checkpoints.includes(checkpointName(prev.id))) {
    return full(`the VM has no checkpoint ${checkpointName(prev.id)} for the previous point (deleted, or lost in a restart)`);
  }
  const disks = diskChange(prev, input.disks);
  if (disks !== undefined) return full(disks);
  if (input.storageId !== undefined && input.previousStorageId !== undefined && input.storageId !== input.previousStorageId) {
    return full(`the backup storage changed since ${prev.id} (${input.previousStorageId} → ${input.storageId})`);
  }

  const fullId = chain.ids[0]!;
  if (chain.ids.length >= policy.fullEvery) {
    return full(`the chain of ${fullId} has ${chain.ids.length} points (full_every ${policy.fullEvery})`, false);
  }
  if (policy.fullEveryDays !== undefined) {
    const root = input.points.find((p) => p.id === fullId);
    const started = Date.parse(root?.manifest?.started ?? '');
    const now = Date.parse(input.now);
    if (!Number.isFinite(started) || !Number.isFinite(now)) return full(`the age of the full ${fullId} cannot be read`);
    const days = (now - started) / DAY_MS;
    if (days >= policy.fullEveryDays) {
      return full(`the full ${fullId} is ${Math.floor(days)} days old (full_every_days ${policy.fullEveryDays})`, false);
    }
  }
  return {
    kind: 'incremental',
    parent: prev.id,
    reason: `incremental on ${prev.id}: point ${chain.ids.length + 1} of ${policy.fullEvery} in the chain of ${fullId}`,
    warn: false,
  };
}

/** Why the disk set or a disk's size differs from the previous point's manifest, if it does. */
function diskChange(prev: ChainPoint, disks: readonly CurrentDisk[]): string | undefined {
  const before = new Map<string, number | undefined>();
  for (const f of prev.manifest?.files ?? []) if (f.target !== undefined && f.kind === undefined) before.set(f.target, f.virtual_size_bytes);
  const now = new Map(disks.map((d) => [d.target, d.virtualSizeBytes]));
  const added = [...now.keys()].filter((t) => !before.has(t)).sort();
  const removed = [...before.keys()].filter((t) => !now.has(t)).sort();
  if (added.length > 0) return `disk ${added.join(', ')} was added since ${prev.id}`;
  if (removed.length > 0) return `disk ${removed.join(', ')} was removed since ${prev.id}`;
  for (const [t, size] of now) {
    const old = before.get(t);
    if (old !== size) return `disk ${t} was resized since ${prev.id} (${old ?? 'unknown'} → ${size} bytes)`;
  }
  return undefined;
}
