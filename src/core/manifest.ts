// The backup's own record (backup-metadata.json) and checksums.sha256, as data. The manifest
// carries the seed-000 §2.2 fields (job_id, vm_name, started, finished, snapshot, files[]) plus
// what this fleet needs: hypervisor, method, warnings, durations, sizes, policy revision.
import { plainNameProblem } from './host-path.js';
import { BACKUP_ID_RE } from './backup-layout.js';
import type { Method } from './model.js';

export interface ManifestFile {
  path: string;
  size_bytes: number;
  sha256: string;
  /** Disk images only. */
  target?: string;
  format?: string;
  virtual_size_bytes?: number;
  source_path?: string;
  /** Who wrote the image: vmbackup's streaming qcow2 writer (hashed as written) or `qemu-img convert`. */
  writer?: 'stream' | 'qemu-img';
  /** Not a disk image: a UEFI VM's NVRAM file, or an emulated TPM's swtpm state (`source_path` says where it was). */
  kind?: 'nvram' | 'tpm';
  /** kind tpm: the TPM version of that state (`2.0` or `1.2`). */
  tpm_version?: string;
  /** Incremental images: bytes of the allocated clusters written (the changed data). */
  changed_bytes?: number;
  /** Incremental images: the relative backing reference, exactly `../<parent_backup_id>/<parent's image file>`. */
  backing?: string;
}

/** A restore point is a whole copy, or only what changed since its parent (absent = full, as before 0.3). */
export type BackupKind = 'full' | 'incremental';

export interface Manifest {
  schema: 'vmbackup.manifest/v1';
  job_id: string;
  backup_id: string;
  vm_name: string;
  vm_uuid: string;
  hypervisor: string;
  started: string;
  finished: string;
  /** Overlay snapshot name used while copying. */
  snapshot: string;
  method: Method;
  /** What actually happened: guest filesystems frozen (fsfreeze), or crash-consistent (the fallback, with a warning). Backups before 0.2 say `application` for `filesystem`. */
  consistency: 'filesystem' | 'crash';
  warnings: string[];
  durations_ms: Record<string, number>;
  total_size_bytes: number;
  files: ManifestFile[];
  policy: { name?: string; revision?: string };
  bacula_job_id?: string;
  vmbackup_version: string;
  /** Absent on older points: full. */
  kind?: BackupKind;
  /** Incremental only: the previous point of the chain, in the same VM directory. */
  parent_backup_id?: string;
  /** The libvirt checkpoint created at this point (`vmbackup-<backup_id>`). */
  checkpoint?: string;
}

/** `sha256sum -c`-compatible lines: "<hex>  <name>", sorted by name. */
export function checksumsText(files: readonly { path: string; sha256: string }[]): string {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => `${f.sha256}  ${f.path}`).join('\n') + '\n';
}

/** Parses checksums.sha256 back; lines that are not `<64 hex>  <name>` are reported. */
export function parseChecksums(text: string): { entries: Map<string, string>; bad: string[] } {
  const entries = new Map<string, string>();
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m || m[2]!.includes('/')) bad.push(line);
    else entries.set(m[2]!, m[1]!);
  }
  return { entries, bad };
}

/**
 * What is wrong with a manifest read back from storage (which is untrusted): every file must be
 * a plain name inside the backup directory (no `/`, no `..`, no NUL), with a size and a SHA-256,
 * listed once, and at least one must be a disk image. Empty when it is sound.
 */
export function manifestProblems(m: unknown): string[] {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return ['the manifest is not a JSON object'];
  const files = (m as { files?: unknown }).files;
  if (!Array.isArray(files)) return ['the manifest has no list of files'];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const f of files as Partial<ManifestFile>[]) {
    const path = f?.path;
    const bad = plainNameProblem(path);
    if (bad) { problems.push(`manifest path ${JSON.stringify(path)} ${bad}: not a plain file name inside the backup directory`); continue; }
    if (seen.has(path!)) problems.push(`manifest lists ${path} twice`);
    seen.add(path!);
    if (!Number.isSafeInteger(f.size_bytes) || f.size_bytes! < 0) problems.push(`${path}: manifest size ${JSON.stringify(f.size_bytes)} is not a byte count`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) problems.push(`${path}: manifest sha256 is malformed`);
  }
  if (!(files as Partial<ManifestFile>[]).some((f) => f?.target !== undefined)) problems.push('the manifest lists no disk image');
  return [...problems, ...chainFieldProblems(m as Partial<Manifest>)];
}

/**
 * The incremental fields: a parent must be a backup id, and a backing reference is only ever the
 * parent's image `../<parent_backup_id>/<plain name>` (on an incremental); anything else would let
 * an image on storage point qemu-img at a file of the attacker's choosing.
 */
function chainFieldProblems(m: Partial<Manifest>): string[] {
  const problems: string[] = [];
  const kind: unknown = m.kind;
  if (kind !== undefined && kind !== 'full' && kind !== 'incremental') problems.push(`manifest kind ${JSON.stringify(kind)} is neither full nor incremental`);
  const parent: unknown = m.parent_backup_id;
  const parentOk = typeof parent === 'string' && BACKUP_ID_RE.test(parent);
  if (parent !== undefined && !parentOk) problems.push(`manifest parent_backup_id ${JSON.stringify(parent)} is not a backup id`);
  if (kind === 'incremental' && parent === undefined) problems.push('an incremental manifest has no parent_backup_id');
  if (kind !== 'incremental' && parent !== undefined) problems.push('a full manifest names a parent_backup_id');
  if (parentOk && parent === m.backup_id) problems.push('the manifest names itself as its parent');
  if (m.checkpoint !== undefined && typeof m.checkpoint !== 'string') problems.push('manifest checkpoint is not a string');
  for (const f of (m.files ?? []) as Partial<ManifestFile>[]) {
    const cb: unknown = f?.changed_bytes;
    if (cb !== undefined && (!Number.isSafeInteger(cb) || (cb as number) < 0)) problems.push(`${String(f?.path)}: manifest changed_bytes ${JSON.stringify(cb)} is not a byte count`);
    const backing: unknown = f?.backing;
    if (backing === undefined) continue;
    if (kind !== 'incremental') { problems.push(`${String(f?.path)}: a full point's image has a backing reference`); continue; }
    if (!parentOk) { problems.push(`${String(f?.path)}: backing reference without a valid parent_backup_id`); continue; }
    const prefix = `../${parent as string}/`;
    const name = typeof backing === 'string' && backing.startsWith(prefix) ? backing.slice(prefix.length) : undefined;
    if (name === undefined || plainNameProblem(name) !== undefined) {
      problems.push(`${String(f?.path)}: backing ${JSON.stringify(backing)} is not the parent's image ../${parent as string}/<file>`);
    }
  }
  return problems;
}
