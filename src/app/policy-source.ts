// "The policy repo as of X" for the commands engineers and CI run (validate, plan, render): a
// working tree or a git revision (through the same GitPolicySource the acting processes use),
// and the restore points recorded in status/.
import { loadPolicyRepo, type LoadCache } from '../core/load.js';
import type { RestorePoint } from '../core/model.js';
import { parseStatusRestorePoints } from '../core/status-file.js';
import type { PolicySnapshot } from '../ports/policy-source.js';
import { readFilesUnder, readPolicyFilesFromDir, readRepoDirSync } from '../adapters/policy-files.js';
import { resolveTemplates } from '../adapters/templates.js';

export type { PolicySnapshot } from '../ports/policy-source.js';

/** `rev` undefined means the working tree (engineers' validate/plan/render). `cache` shares per-file work between snapshots. */
export async function loadSnapshot(repoDir: string, rev?: string, cache?: LoadCache): Promise<PolicySnapshot> {
  if (rev === undefined) {
    const load = loadPolicyRepo(await readPolicyFilesFromDir(repoDir), cache);
    const templateFiles = await readFilesUnder(repoDir, 'templates');
    return { label: 'working tree', load, templates: await resolveTemplates(templateFiles), templateFiles };
  }
  // Loaded only for revisions: the git adapter pulls in execa and simple-git.
  const { GitPolicySource } = await import('../adapters/git/git-policy-source.js');
  return new GitPolicySource(repoDir, { ...(cache ? { cache } : {}) }).at(rev);
}

/**
 * Restore points recorded under `<statusPath>/vms/*.yaml` in the working tree, keyed by each
 * file's `vm:` (else its name). With `only`, files that cannot hold one of those VMs are not
 * parsed (see mayHold); the entries of the VMs in `only` are exactly what they would be without it.
 */
export async function readRecordedRestorePoints(repoDir: string, statusPath: string, only?: ReadonlySet<string>): Promise<Map<string, RestorePoint[]>> {
  const out = new Map<string, RestorePoint[]>();
  // Never through a link or special file (the repo is untrusted); synchronous, as that is faster here.
  const files = readRepoDirSync(repoDir, `${statusPath}/vms`, (n) => /\.ya?ml$/.test(n));
  const names = [...files.keys()];
  const texts = [...files.values()];
  // A name outside the usual characters (only an invalid repo has one) disables the shortcut.
  const filter = only && [...only].every((n) => /^[A-Za-z0-9._-]+$/.test(n)) ? only : undefined;
  names.forEach((n, i) => {
    const text = texts[i]!;
    const fallback = n.replace(/\.ya?ml$/, '');
    if (filter && !mayHold(text, fallback, filter)) return;
    const r = parseStatusRestorePoints(text);
    out.set(r.vm ?? fallback, r.points);
  });
  return out;
}

const NAME_RUN = /[A-Za-z0-9._-]+/g;

/**
 * Whether a status file could be keyed by a VM in `names` (parsing decides). A YAML string equal
 * to a name (name characters only) is written verbatim in the text as a whole run of name characters,
 * unless a double-quoted escape builds it, hence the backslash check.
 */
function mayHold(text: string, fallback: string, names: ReadonlySet<string>): boolean {
  if (names.has(fallback) || text.includes('\\')) return true;
  for (const m of text.matchAll(NAME_RUN)) if (names.has(m[0])) return true;
  return false;
}
