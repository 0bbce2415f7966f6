// Reads the policy files of a git revision without checking it out: one `ls-tree` and one
// `cat-file --batch` however many files there are. Symlinks and submodules are refused, never read.
import { execa } from 'execa';
import { simpleGit } from 'simple-git';
import { isPolicyPath, type PolicyFileText } from '../../core/load.js';
import { inReadScope, type RefusedKind } from '../../core/repo-entries.js';

/** Resolves a revision to its full commit id, or throws a clear error. */
export async function resolveRevision(repoDir: string, rev: string): Promise<string> {
  try {
    return (await simpleGit(repoDir).revparse(['--verify', '--end-of-options', `${rev}^{commit}`])).trim();
  } catch {
    throw new Error(`unknown git revision "${rev}" in ${repoDir}`);
  }
}

/**
 * The policy files of `rev`, plus a refused entry (no text) for each symlink or submodule anywhere
 * in read scope: the same entries readPolicyFilesFromDir gives for the same content on disk.
 */
export async function readPolicyFilesAtRevision(repoDir: string, rev: string, statusPath = 'status'): Promise<PolicyFileText[]> {
  const entries = await listRevision(repoDir, rev);
  const refused: PolicyFileText[] = entries.filter((e) => e.refused && inReadScope(e.path)).map((e) => ({ path: e.path, text: '', refused: e.refused! }));
  const files = await catBlobs(repoDir, entries.filter((e) => !e.refused && isPolicyPath(e.path, statusPath)));
  return [...files, ...refused].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Regular files of `rev` whose path passes `keep`, via one batched cat-file. Links and submodules are never read. */
export async function readFilesAtRevision(repoDir: string, rev: string, keep: (path: string) => boolean): Promise<PolicyFileText[]> {
  return catBlobs(repoDir, (await listRevision(repoDir, rev)).filter((e) => !e.refused && keep(e.path)));
}

interface TreeEntry { path: string; oid: string; refused?: RefusedKind }

/** Every file of `rev`, sorted by path; mode 120000 (symlink) and 160000 (gitlink) marked refused. */
async function listRevision(repoDir: string, rev: string): Promise<TreeEntry[]> {
  const commit = await resolveRevision(repoDir, rev);
  const ls = await execa('git', ['-C', repoDir, 'ls-tree', '-r', '-z', '--full-tree', commit], { encoding: 'utf8' });
  const out: TreeEntry[] = [];
  for (const rec of ls.stdout.split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode, type, oid] = rec.slice(0, tab).split(' ');
    const path = rec.slice(tab + 1);
    if (!oid) continue;
    if (mode === '120000') out.push({ path, oid, refused: 'symlink' });
    else if (mode === '160000' || type === 'commit') out.push({ path, oid, refused: 'submodule' });
    else if (type === 'blob') out.push({ path, oid });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function catBlobs(repoDir: string, wanted: readonly TreeEntry[]): Promise<PolicyFileText[]> {
  if (!wanted.length) return [];
  const cat = await execa('git', ['-C', repoDir, 'cat-file', '--batch'], { input: wanted.map((w) => w.oid).join('\n') + '\n', encoding: 'buffer' });
  const buf = Buffer.from(cat.stdout);
  const out: PolicyFileText[] = [];
  let pos = 0;
  for (const w of wanted) {
    const nl = buf.indexOf(10, pos);
    const header = buf.subarray(pos, nl).toString('utf8').split(' ');
    const size = Number(header[2]);
    out.push({ path: w.path, text: buf.subarray(nl + 1, nl + 1 + size).toString('utf8') });
    pos = nl + 1 + size + 1;
  }
  return out;
}

/** The newest commit at or before `rev` that touched anything outside `statusPath`: the policy revision. */
export async function policyRevision(repoDir: string, rev: string, statusPath = 'status'): Promise<string> {
  const r = await execa('git', ['-C', repoDir, 'log', '-1', '--format=%H', rev, '--', '.', `:(exclude)${statusPath}`]);
  return r.stdout.trim() || rev;
}
