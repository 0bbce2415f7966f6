// Reads the policy files of a git revision without checking it out: one `ls-tree` and one
// `cat-file --batch` however many files there are.
import { execa } from 'execa';
import { simpleGit } from 'simple-git';
import { isPolicyPath, type PolicyFileText } from '../../core/load.js';

/** Resolves a revision to its full commit id, or throws a clear error. */
export async function resolveRevision(repoDir: string, rev: string): Promise<string> {
  try {
    return (await simpleGit(repoDir).revparse(['--verify', '--end-of-options', `${rev}^{commit}`])).trim();
  } catch {
    throw new Error(`unknown git revision "${rev}" in ${repoDir}`);
  }
}

export async function readPolicyFilesAtRevision(repoDir: string, rev: string, statusPath = 'status'): Promise<PolicyFileText[]> {
  return readFilesAtRevision(repoDir, rev, (p) => isPolicyPath(p, statusPath));
}

/** Files of `rev` whose path passes `keep`, via one batched cat-file. */
export async function readFilesAtRevision(repoDir: string, rev: string, keep: (path: string) => boolean): Promise<PolicyFileText[]> {
  const commit = await resolveRevision(repoDir, rev);
  const ls = await execa('git', ['-C', repoDir, 'ls-tree', '-r', '-z', '--full-tree', commit], { encoding: 'utf8' });
  const wanted: { path: string; oid: string }[] = [];
  for (const rec of ls.stdout.split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [, type, oid] = rec.slice(0, tab).split(' ');
    const path = rec.slice(tab + 1);
    if (type === 'blob' && oid && keep(path)) wanted.push({ path, oid });
  }
  wanted.sort((a, b) => (a.path < b.path ? -1 : 1));
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
