// Bacula mode for the daemon benchmark: the tests' scratch director (a real `bacula-dir -f` on
// loopback with a sqlite catalog), started on the bench policy's first rendering, so every later
// apply is the daemon's real `bacula-dir -t` + `bconsole reload`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadPolicyRepo } from '../src/core/load.js';
import { readPolicyFilesFromDir } from '../src/adapters/policy-files.js';
import { resolveTemplates } from '../src/adapters/templates.js';
import { applyDesired } from '../src/daemon/apply.js';
import { CATALOG_SCHEMA, scratchDirector, type Director } from '../test/helpers/bacula.js';

export interface BaculaSetup {
  director: Director;
  /** settings.bacula for the policy. */
  settings: Record<string, unknown>;
  /** Secrets the rendered config needs (the daemon gets them in its environment). */
  env: Record<string, string>;
  /** Extra `vmbackup daemon` flags. */
  daemonArgs: string[];
}

export function baculaAvailable(): string | undefined {
  if (!existsSync('/usr/sbin/bacula-dir')) return 'bacula-dir is not installed (bash test/setup.sh)';
  if (!existsSync(CATALOG_SCHEMA)) return `the sqlite catalog schema ${CATALOG_SCHEMA} is missing`;
  return undefined;
}

/** A scratch director; `settings.command` is /bin/true, so a schedule that fires during the run starts nothing. */
export async function setupBacula(repoPath: string): Promise<BaculaSetup> {
  const director = await scratchDirector();
  const base = (parse(director.settingsYaml) as { bacula: Record<string, unknown> }).bacula;
  return {
    director,
    settings: { ...base, command: '/bin/true', repo_path: repoPath },
    env: { TEST_BACULA_DIR_PASSWORD: director.password, BACULA_FD_PASSWORD: 'bench-fd-secret', BACULA_SD_PASSWORD: 'bench-sd-secret' },
    daemonArgs: ['--bacula-config-dir', director.dir, '--bconsole-config', director.bconsoleConf],
  };
}

/** Renders the repo's first commit into the director's config dir and starts the director on it. */
export async function startDirector(b: BaculaSetup, repoDir: string): Promise<void> {
  const load = loadPolicyRepo(await readPolicyFilesFromDir(repoDir));
  if (!load.ok) throw new Error(`the bench policy does not load: ${load.diagnostics.map((d) => d.message).join('; ')}`);
  await applyDesired(load.desired, await resolveTemplates(new Map()), { baculaConfigDir: b.director.dir, cronFile: join(b.director.dir, 'unused.cron') }, { ...process.env, ...b.env });
  await b.director.start(join(b.director.dir, 'bacula-dir.conf'));
}
