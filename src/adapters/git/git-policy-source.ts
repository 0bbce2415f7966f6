// PolicySource over a git object store: policy files and template overrides read from the commit
// (never a working tree), parsed once per revision and kept for the next caller.
import { loadPolicyRepo, type LoadCache } from '../../core/load.js';
import type { PolicySnapshot, PolicySource } from '../../ports/policy-source.js';
import { resolveTemplates } from '../templates.js';
import { readFilesAtRevision, readPolicyFilesAtRevision, resolveRevision } from './revision-files.js';

const TEMPLATE_PATH = /^templates\/[^/]+$/;

export class GitPolicySource implements PolicySource {
  private readonly cache = new Map<string, Promise<PolicySnapshot>>();
  /** `cache` shares per-file parse work between revisions (plan compares two). */
  constructor(readonly dir: string, private readonly opts: { keep?: number; cache?: LoadCache } = {}) {}

  at(revision: string): Promise<PolicySnapshot> {
    let p = this.cache.get(revision);
    if (!p) {
      p = this.read(revision);
      p.catch(() => this.cache.delete(revision));
      this.cache.set(revision, p);
      while (this.cache.size > (this.opts.keep ?? 4)) this.cache.delete(this.cache.keys().next().value!);
    }
    return p;
  }

  private async read(revision: string): Promise<PolicySnapshot> {
    const commit = await resolveRevision(this.dir, revision);
    const load = loadPolicyRepo(await readPolicyFilesAtRevision(this.dir, commit), this.opts.cache);
    const tpl = await readFilesAtRevision(this.dir, commit, (p) => TEMPLATE_PATH.test(p));
    const templateFiles = new Map(tpl.map((f) => [f.path.slice('templates/'.length), f.text]));
    return { revision: commit, label: `${revision === commit ? commit.slice(0, 12) : `${revision} (${commit.slice(0, 12)})`}`, load, templates: await resolveTemplates(templateFiles), templateFiles };
  }
}
