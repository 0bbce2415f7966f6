// One way to get "the policy repo as of X" for every command: a working tree or a git revision,
// with its template overrides and recorded restore points.
import { join } from 'node:path';
import { readFile, readdir } from 'node:fs/promises';
import { loadPolicyRepo, type LoadResult } from '../core/load.js';
import type { RestorePoint } from '../core/model.js';
import { parseStatusRestorePoints } from '../core/status-file.js';
import { readFilesUnder, readPolicyFilesFromDir } from '../adapters/policy-files.js';
import { readFilesAtRevision, readPolicyFilesAtRevision, resolveRevision } from '../adapters/git/revision-files.js';
import { resolveTemplates } from '../adapters/templates.js';
import type { Templates } from '../core/render.js';

export interface PolicySnapshot {
  label: string;
  load: LoadResult;
  templates: Templates;
}

/** `rev` undefined means the working tree. */
export async function loadSnapshot(repoDir: string, rev?: string): Promise<PolicySnapshot> {
  if (rev === undefined) {
    const load = loadPolicyRepo(await readPolicyFilesFromDir(repoDir));
    return { label: 'working tree', load, templates: await resolveTemplates(await readFilesUnder(repoDir, 'templates')) };
  }
  const commit = await resolveRevision(repoDir, rev);
  const load = loadPolicyRepo(await readPolicyFilesAtRevision(repoDir, commit));
  const tpl = await readFilesAtRevision(repoDir, commit, (p) => /^templates\/[^/]+$/.test(p));
  const overrides = new Map(tpl.map((f) => [f.path.slice('templates/'.length), f.text]));
  return { label: `${rev} (${commit.slice(0, 12)})`, load, templates: await resolveTemplates(overrides) };
}

/** Restore points recorded under `<statusPath>/vms/*.yaml` in the working tree. */
export async function readRecordedRestorePoints(repoDir: string, statusPath: string): Promise<Map<string, RestorePoint[]>> {
  const dir = join(repoDir, statusPath, 'vms');
  const out = new Map<string, RestorePoint[]>();
  let names: string[] = [];
  try { names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort(); } catch { return out; }
  for (const n of names) {
    const r = parseStatusRestorePoints(await readFile(join(dir, n), 'utf8'));
    out.set(r.vm ?? n.replace(/\.ya?ml$/, ''), r.points);
  }
  return out;
}
