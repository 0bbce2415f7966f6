// Reads a policy repo's files from a working tree (the shell side of core/load.ts) without ever
// following a link: symlinks, submodules and special files come back as refused entries.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, type Dirent } from 'node:fs';
import { lstat, open, readdir, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { isPolicyPath, type PolicyFileText } from '../core/load.js';
import { inReadScope, type RefusedKind } from '../core/repo-entries.js';

export type RepoRead = { text: string } | { refused: RefusedKind };

// O_NOFOLLOW: the last component may not be a link; O_NONBLOCK: a FIFO that raced in does not hang.
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

function kindOf(e: { isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): RefusedKind {
  if (e.isSymbolicLink()) return 'symlink';
  if (e.isFIFO()) return 'fifo';
  if (e.isSocket()) return 'socket';
  if (e.isBlockDevice() || e.isCharacterDevice()) return 'device';
  return 'not-a-file';
}

/**
 * Opens `root/rel` (root already real) without following links, and reads it only if the opened
 * descriptor is a regular file at exactly that place (checked through /proc, so a folder swapped
 * for a link between listing and opening is caught too).
 */
async function readAt(root: string, rel: string): Promise<RepoRead> {
  let fh;
  try {
    fh = await open(join(root, rel), FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { refused: 'symlink' };
    if (code === 'ENXIO') return { refused: 'socket' };
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { refused: st.isDirectory() ? 'not-a-file' : kindOf(st) };
    const real = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined);
    if (real !== undefined && real !== join(root, rel)) return { refused: 'symlink' };
    return { text: await fh.readFile('utf8') };
  } finally {
    await fh.close();
  }
}

/**
 * The safe way to read one file of a policy repo (`rel` is `/`-separated): no component may be a
 * link, the file must be regular. Throws ENOENT-style errors for a missing file.
 */
export async function readRepoFile(repoDir: string, rel: string): Promise<RepoRead> {
  const root = await realpath(repoDir);
  const parts = rel.split('/');
  let p = root;
  for (const part of parts.slice(0, -1)) {
    p = join(p, part);
    const st = await lstat(p);
    if (st.isSymbolicLink()) return { refused: 'symlink' };
    if (!st.isDirectory()) return { refused: 'not-a-file' };
  }
  return readAt(root, rel);
}

interface Entry { path: string; refused?: RefusedKind }

/** Every entry in read scope under `root`, links and special files included but never entered. */
async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const dirs = [''];
  for (let d = dirs.pop(); d !== undefined; d = dirs.pop()) {
    const items: Dirent[] = await readdir(join(root, d), { withFileTypes: true });
    // A folder with its own .git is a submodule (or a nested clone): git stores it as a link to a commit.
    if (d && items.some((e) => e.name === '.git')) { out.push({ path: d, refused: 'submodule' }); continue; }
    for (const e of items) {
      const path = d ? `${d}/${e.name}` : e.name;
      if (!inReadScope(path)) continue;
      if (e.isFile()) out.push({ path });
      else if (e.isDirectory()) dirs.push(path);
      else out.push({ path, refused: kindOf(e) });
    }
  }
  return out;
}

/**
 * Every policy file under `dir`, paths relative and `/`-separated, sorted; plus a refused entry
 * (no text) for each symlink, submodule or special file anywhere in read scope, which the loader
 * reports as a located error.
 */
export async function readPolicyFilesFromDir(dir: string, statusPath = 'status'): Promise<PolicyFileText[]> {
  const root = await realpath(dir);
  const entries = await walk(root);
  const read = await Promise.all(entries.map(async (e): Promise<PolicyFileText | undefined> => {
    if (e.refused) return { path: e.path, text: '', refused: e.refused };
    if (!isPolicyPath(e.path, statusPath)) return undefined;
    const r = await readAt(root, e.path);
    return 'text' in r ? { path: e.path, text: r.text } : { path: e.path, text: '', refused: r.refused };
  }));
  return read.filter((f): f is PolicyFileText => f !== undefined).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The repo's own `sub/` (templates/) regular files, as name → source. A linked `sub/`, or a link or
 * special file inside it, is left out, never followed (readPolicyFilesFromDir reports it).
 */
export async function readFilesUnder(dir: string, sub: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let root: string;
  let items: Dirent[];
  try {
    root = await realpath(dir);
    const st = await lstat(join(root, sub));
    if (!st.isDirectory()) return out;
    items = await readdir(join(root, sub), { withFileTypes: true });
  } catch { return out; }
  for (const e of items.filter((x) => x.isFile()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = await readAt(root, `${sub}/${e.name}`);
    if ('text' in r) out.set(e.name, r.text);
  }
  return out;
}

/** The text of a read, or an error naming the refusal (for callers that fall back on any error). */
export function textOrThrow(r: RepoRead): string {
  if ('text' in r) return r.text;
  throw new Error(`refused: ${r.refused} (vmbackup never follows links or reads special files in the policy repository)`);
}

/**
 * The regular files directly in `repoDir/relDir` whose name passes `keep`, as name → text, read
 * synchronously (a thousand small status files read several times faster so) and never through a
 * link: a linked folder on the way, a linked file or a special file is left out.
 */
export function readRepoDirSync(repoDir: string, relDir: string, keep: (name: string) => boolean): Map<string, string> {
  const out = new Map<string, string>();
  if (relDir.split('/').some((x) => x === '' || x === '.' || x === '..')) return out;
  let root: string;
  try {
    root = realpathSync(repoDir);
    let p = root;
    for (const part of relDir.split('/')) {
      p = join(p, part);
      if (!lstatSync(p).isDirectory()) return out;
    }
  } catch { return out; }
  const names = readdirSync(join(root, relDir), { withFileTypes: true }).filter((e) => e.isFile() && keep(e.name)).map((e) => e.name).sort();
  for (const n of names) {
    const path = join(root, relDir, n);
    let fd: number;
    try { fd = openSync(path, FLAGS); } catch { continue; }
    try {
      if (!fstatSync(fd).isFile()) continue;
      let real: string | undefined;
      try { real = readlinkSync(`/proc/self/fd/${fd}`); } catch { real = undefined; }
      if (real !== undefined && real !== path) continue;
      out.set(n, readFileSync(fd, 'utf8'));
    } finally { closeSync(fd); }
  }
  return out;
}
