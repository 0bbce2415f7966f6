// Where backups live, by name alone (seed 002's layout):
//   <root>/<hypervisor>/<vm>/<YYYY-MM-DD-HHMMSS>/          a published backup
//   <root>/<hypervisor>/<vm>/<YYYY-MM-DD-HHMMSS>.partial/  one being written (never a restore point)
// Pure: paths are built and checked as strings; the shell resolves symlinks before trusting them.
import { posix } from 'node:path';

export const BACKUP_ID_RE = /^\d{4}-\d{2}-\d{2}-\d{6}$/;

/** Sort order of restore points by id (a timestamp), newest first: an incremental before the point it builds on. */
export const newestIdFirst = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
export const PARTIAL_SUFFIX = '.partial';
export const MANIFEST_FILE = 'backup-metadata.json';
export const CHECKSUM_FILE = 'checksums.sha256';
export const VERIFY_FILE = 'verification.json';
export const TEST_RESTORE_FILE = 'test-restore.json';
export const LOG_FILE = 'backup.log';

/** The backup id for a start time: UTC, so ids sort in time order whatever the site's zone. */
export function backupIdAt(iso: string): string {
  const d = new Date(iso);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** Joins under `root` and refuses anything that would land outside it. */
export function under(root: string, ...parts: string[]): string {
  for (const p of parts) {
    if (!p || p === '.' || p === '..' || p.includes('/') || p.includes('\0')) throw new Error(`unsafe path component ${JSON.stringify(p)}`);
  }
  const r = posix.normalize(root).replace(/\/+$/, '') || '/';
  const full = posix.join(r, ...parts);
  if (!full.startsWith(r === '/' ? '/' : `${r}/`)) throw new Error(`${full} is outside ${r}`);
  return full;
}

export function vmDir(root: string, hv: string, vm: string): string {
  return under(root, hv, vm);
}

export function backupDir(root: string, hv: string, vm: string, id: string, partial = false): string {
  if (!BACKUP_ID_RE.test(id)) throw new Error(`invalid backup id ${JSON.stringify(id)}`);
  return under(root, hv, vm, partial ? `${id}${PARTIAL_SUFFIX}` : id);
}

/** File name of a disk image inside a backup: `<vm>-<target>.qcow2` (seed 002: prod-db-01-vda.qcow2). */
export function diskFileName(vm: string, target: string): string {
  if (!/^[a-z]{2,4}[a-z0-9]*$/.test(target)) throw new Error(`unexpected disk target ${JSON.stringify(target)}`);
  return `${vm}-${target}.qcow2`;
}

/** Overlay for a disk during a backup: beside the base image, recognisable by its marker. */
export function overlayPath(basePath: string, vm: string, target: string, id: string): string {
  const dir = posix.dirname(basePath);
  return posix.join(dir, `${vm}-${target}.vmbackup-${id}.overlay.qcow2`);
}

export const OVERLAY_RE = /\.vmbackup-(\d{4}-\d{2}-\d{2}-\d{6})\.overlay\.qcow2$/;

/** Is this disk source one of our overlays (a leftover when found outside a running backup)? */
export function isOurOverlay(path: string | undefined): boolean {
  return path !== undefined && OVERLAY_RE.test(path);
}

// UEFI variables and vTPM state: where libvirt keeps them on a hypervisor, and their names in a backup.
/** libvirt's standard NVRAM directory (qemu driver, RHEL and Debian alike). */
export const NVRAM_DIR = '/var/lib/libvirt/qemu/nvram';
/** libvirt's swtpm state root: one directory per domain UUID. */
export const SWTPM_DIR = '/var/lib/libvirt/swtpm';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The NVRAM file a restored VM gets on its host: libvirt's own default name for it. */
export function nvramPathFor(vm: string): string {
  return under(NVRAM_DIR, `${vm}_VARS.fd`);
}

/** NVRAM file name inside a backup. */
export function nvramFileName(vm: string): string {
  return `${vm}-nvram.fd`;
}

/** The swtpm state file libvirt keeps for a domain's emulated TPM (version 2.0 unless 1.2). */
export function tpmStatePath(uuid: string, version?: string): string {
  const u = uuid.toLowerCase();
  if (!UUID_RE.test(u)) throw new Error(`invalid domain UUID ${JSON.stringify(uuid)}`);
  return version === '1.2' ? under(SWTPM_DIR, u, 'tpm1.2', 'tpm-00.permall') : under(SWTPM_DIR, u, 'tpm2', 'tpm2-00.permall');
}

/** vTPM state file name inside a backup. */
export function tpmFileName(vm: string): string {
  return `${vm}-tpm-state.permall`;
}

/** Where an in-place restore keeps a file it replaces until the new definition is in place: beside it, same filesystem. */
export function asidePath(path: string, id: string): string {
  if (!BACKUP_ID_RE.test(id)) throw new Error(`invalid backup id ${JSON.stringify(id)}`);
  return `${path}.vmbackup-prev-${id}`;
}
