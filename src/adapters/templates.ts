// Finds the handlebars templates: the policy repo's own templates/ override the built-in ones.
import { readFile } from 'node:fs/promises';
import type { Templates } from '../core/render.js';

export const TEMPLATE_FILES = { baculaDir: 'bacula-dir.conf.hbs', baculaJobs: 'vmbackup-jobs.conf.hbs', cron: 'vmbackup.cron.hbs' } as const;
const BUILTIN_DIR = new URL('../../../templates/', import.meta.url);

let builtin: Promise<Map<string, string>> | undefined;

/** The built-in templates shipped with vmbackup, read once per process. */
export function builtinTemplates(): Promise<Map<string, string>> {
  builtin ??= (async () => {
    const m = new Map<string, string>();
    for (const name of Object.values(TEMPLATE_FILES)) {
      try { m.set(name, await readFile(new URL(name, BUILTIN_DIR), 'utf8')); } catch { /* optional template */ }
    }
    return m;
  })();
  return builtin;
}

/** Built-ins overlaid with the repo's `templates/<name>` files (name → source). */
export async function resolveTemplates(overrides: ReadonlyMap<string, string>): Promise<Templates> {
  const base = await builtinTemplates();
  const pick = (n: string): string | undefined => overrides.get(n) ?? base.get(n);
  const baculaDir = pick(TEMPLATE_FILES.baculaDir);
  const cron = pick(TEMPLATE_FILES.cron);
  if (baculaDir === undefined || cron === undefined) throw new Error('built-in templates are missing: reinstall vmbackup');
  const jobs = pick(TEMPLATE_FILES.baculaJobs);
  return { baculaDir, cron, ...(jobs !== undefined ? { baculaJobs: jobs } : {}) };
}
