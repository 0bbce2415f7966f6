// Backup storage as the control host sees it (the NFS share, seed 002's /mnt/backup): list
// restore points, create and publish `.partial` directories, write small files atomically.
// Every path is built by core/backup-layout.ts and re-checked here after resolving symlinks.
// What is read back is untrusted (./read-untrusted.ts): a directory whose manifest or images are
// not sound is listed as `corrupt`, and never counts as a good restore point.
import { access, constants, lstat, mkdir, open, readdir, realpath, rename, rm, stat, statfs } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { BACKUP_ID_RE, backupDir, MANIFEST_FILE, PARTIAL_SUFFIX, VERIFY_FILE, vmDir } from '../../core/backup-layout.js';
import { kindOf } from '../../core/host-path.js';
import { manifestProblems, type Manifest } from '../../core/manifest.js';
import type { RestorePoint } from '../../core/model.js';
import { writeFileAtomic } from '../atomic-write.js';
import { readHead, readRegularText } from './read-untrusted.js';
import { parseQcow2Header, QCOW2_HEADER_READ } from '../../core/chain/qcow2-header.js';

export interface StoredBackup {
  id: string;
  dir: string;
  manifest?: Manifest;
  verification?: { result: 'ok' | 'failed'; at: string; problems: string[] };
  /** Why this is not a usable restore point as found on storage now (bad manifest, images missing, not regular files); absent when sound. */
  corrupt?: string[];
}

export class BackupStore {
  constructor(readonly root: string) {}

  /** Resolves `p` and checks it is still inside the storage root (no symlink escapes). */
  async confine(p: string): Promise<string> {
    const root = await realpath(this.root);
    let real: string;
    try { real = await realpath(p); } catch { real = p; }
    if (real !== root && !real.startsWith(root + sep)) throw new Error(`${p} resolves outside the backup storage ${root}`);
    return real;
  }

  async space(): Promise<{ writable: boolean; availBytes: number; totalBytes: number; error?: string }> {
    try {
      await access(this.root, constants.W_OK);
      const s = await statfs(this.root);
      return { writable: true, availBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    } catch (e) {
      return { writable: false, availBytes: 0, totalBytes: 0, error: `${this.root}: ${(e as Error).message}` };
    }
  }

  async createPartial(hv: string, vm: string, id: string): Promise<string> {
    const dir = backupDir(this.root, hv, vm, id, true);
    await mkdir(vmDir(this.root, hv, vm), { recursive: true, mode: 0o750 });
    await this.confine(vmDir(this.root, hv, vm));
    await mkdir(dir, { mode: 0o750 });
    return dir;
  }

  /** The atomic step that makes a backup visible: `<id>.partial` → `<id>`. */
  async publish(hv: string, vm: string, id: string): Promise<string> {
    const from = await this.confine(backupDir(this.root, hv, vm, id, true));
    const to = backupDir(this.root, hv, vm, id);
    await syncDir(from); // the entries of the files written into it
    await rename(from, to);
    await syncDir(vmDir(this.root, hv, vm)); // the rename itself
    return to;
  }

  async removePartial(hv: string, vm: string, id: string): Promise<void> {
    const dir = backupDir(this.root, hv, vm, id, true);
    await this.confine(dir);
    await rm(dir, { recursive: true, force: true });
  }

  /** `.partial` directories left by a crashed or killed run. */
  async partials(hv: string, vm: string): Promise<string[]> {
    return (await this.entries(hv, vm)).filter((n) => n.endsWith(PARTIAL_SUFFIX) && BACKUP_ID_RE.test(n.slice(0, -PARTIAL_SUFFIX.length))).map((n) => n.slice(0, -PARTIAL_SUFFIX.length));
  }

  private async entries(hv: string, vm: string): Promise<string[]> {
    try { return (await readdir(vmDir(this.root, hv, vm))).sort(); } catch { return []; }
  }

  /** Published backups, oldest first, with their manifest and last verification when readable. */
  async list(hv: string, vm: string): Promise<StoredBackup[]> {
    const out: StoredBackup[] = [];
    for (const id of (await this.entries(hv, vm)).filter((n) => BACKUP_ID_RE.test(n))) {
      const dir = backupDir(this.root, hv, vm, id);
      const st = await lstat(dir).catch(() => undefined);
      if (!st?.isDirectory()) { out.push({ id, dir, corrupt: [`${id} is ${st ? `a ${kindOf(st.mode)}` : 'unreadable'}, not a backup directory`] }); continue; }
      try { await this.confine(dir); } catch (e) { out.push({ id, dir, corrupt: [(e as Error).message] }); continue; }
      const manifest = await readJson<Manifest>(join(dir, MANIFEST_FILE));
      const verification = await readJson<StoredBackup['verification'] & object>(join(dir, VERIFY_FILE));
      const corrupt = manifest ? await contentProblems(dir, manifest) : [`${MANIFEST_FILE} is missing or unreadable`];
      out.push({ id, dir, ...(manifest ? { manifest } : {}), ...(verification ? { verification } : {}), ...(corrupt.length ? { corrupt } : {}) });
    }
    return out;
  }

  async get(hv: string, vm: string, id: string): Promise<StoredBackup> {
    const b = (await this.list(hv, vm)).find((x) => x.id === id);
    if (!b) throw new Error(`no backup ${id} of ${vm} under ${vmDir(this.root, hv, vm)}`);
    return b;
  }

  async writeFile(dir: string, name: string, content: string, mode = 0o640): Promise<void> {
    await this.confine(dir);
    await writeFileAtomic(join(dir, name), content, mode);
  }

  async size(path: string): Promise<number> {
    try { return (await stat(path)).size; } catch { return -1; }
  }
}

/** fsync(2) of a directory, so that its entries survive a crash; a file system that refuses it (some NFS setups) is left as it is. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try { await fh.sync(); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e; } finally { await fh.close(); }
}

/** Never follows a symlink, never blocks on a FIFO, never reads more than 16 MiB. */
async function readJson<T>(path: string): Promise<T | undefined> {
  try { return JSON.parse(await readRegularText(path)) as T; } catch { return undefined; }
}

/** Cheap listing-time checks (lstat only, no reading): every file the manifest names is a plain name, a regular file, of its size. */
async function contentProblems(dir: string, m: Manifest): Promise<string[]> {
  const bad = manifestProblems(m);
  if (bad.length) return bad;
  const problems: string[] = [];
  for (const f of m.files) {
    const st = await lstat(join(dir, f.path)).catch((e: NodeJS.ErrnoException) => e.code ?? 'error');
    if (typeof st === 'string') problems.push(`${f.path} is ${st === 'ENOENT' ? 'missing' : `unreadable (${st})`}`);
    else if (!st.isFile()) problems.push(`${f.path} is a ${kindOf(st.mode)}, not a regular file`);
    else if (st.size !== f.size_bytes) problems.push(`${f.path} is ${st.size} bytes, the manifest says ${f.size_bytes}`);
    else if (f.target !== undefined && f.kind === undefined) {
      const bad = await headerProblem(join(dir, f.path), m.kind === 'incremental' ? f.backing : undefined);
      if (bad) problems.push(`${f.path} ${bad}`);
    }
  }
  return problems;
}

/**
 * Listing-time backing-file rule on one image's qcow2 header (one 64 KiB read; nothing it names is
 * opened): a full's image has no backing file, an incremental's names exactly its manifest's
 * `backing` (whose shape manifestProblems checked), format qcow2; no external data file. The whole
 * chain is checked by verify (core/chain/backing-rule.ts). A full's image that is not qcow2 is left
 * to the checksums.
 */
async function headerProblem(path: string, backing: string | undefined): Promise<string | undefined> {
  const h = parseQcow2Header(await readHead(path, QCOW2_HEADER_READ).catch(() => Buffer.alloc(0)));
  if ('problem' in h) return backing === undefined && /bad magic/.test(h.problem) ? undefined : h.problem;
  if (h.dataFile !== undefined) return `has an external data file ${JSON.stringify(h.dataFile)}`;
  if (h.backing !== backing) return backing === undefined ? `has a backing file ${JSON.stringify(h.backing)}` : `has the backing file ${JSON.stringify(h.backing)}, not the recorded parent ${backing}`;
  if (backing !== undefined && h.backingFormat !== 'qcow2') return `has a backing format ${JSON.stringify(h.backingFormat)}, not qcow2`;
  return undefined;
}

/** What retention needs to know about a stored backup. */
export function toRestorePoint(b: StoredBackup): RestorePoint {
  const corrupt = Boolean(b.corrupt?.length);
  // A corrupt point (images missing, not regular files, a bad manifest) is never good, whatever an old verification.json says.
  const verify = corrupt && b.manifest ? 'failed' : b.verification ? (b.verification.result === 'ok' ? 'ok' : 'failed') : b.manifest ? 'ok' : 'none';
  const started = typeof b.manifest?.started === 'string' ? b.manifest.started : undefined;
  return { id: b.id, time: started ?? `${b.id.slice(0, 10)}T${b.id.slice(11, 13)}:${b.id.slice(13, 15)}:${b.id.slice(15, 17)}Z`, status: b.manifest && !corrupt ? 'ok' : 'failed', verify, ...(b.manifest?.kind === 'incremental' ? { kind: 'incremental' as const, ...(typeof b.manifest.parent_backup_id === 'string' ? { parent: b.manifest.parent_backup_id } : {}) } : b.manifest?.kind === 'full' ? { kind: 'full' as const } : {}) };
}
