// Apply: render the desired state, fill secret placeholders from the environment or systemd
// credentials, and install it — Bacula (tested with bacula-dir -t, then reloaded) or cron.d.
// Nothing is written when nothing changed; a failure leaves the previous files in force.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DesiredState, SecretRef } from '../core/model.js';
import { renderBacula, renderCron, type Templates } from '../core/render.js';
import { fillSecrets } from '../core/secrets-fill.js';
import { writeFileAtomic } from '../adapters/atomic-write.js';
import type { Bconsole } from '../adapters/bacula/bconsole.js';
import { applyDirectorConfig } from '../adapters/bacula/director-config.js';

export interface ApplyTargets {
  /** Where bacula-dir.conf is installed (e.g. /etc/bacula). */
  baculaConfigDir: string;
  bconsole?: Bconsole;
  baculaBinary?: string;
  /** The cron.d file (e.g. /etc/cron.d/vmbackup). */
  cronFile: string;
}

/** Secret lookup: `{env}` from the environment, `{credential}` from $CREDENTIALS_DIRECTORY. */
export function secretLookup(env: NodeJS.ProcessEnv): (ref: SecretRef) => string | undefined {
  return (ref) => {
    if ('env' in ref) return env[ref.env];
    const dir = env.CREDENTIALS_DIRECTORY;
    if (!dir) return undefined;
    try { return readFileSync(join(dir, ref.credential), 'utf8').replace(/\r?\n$/, ''); } catch { return undefined; }
  };
}

export interface ApplyOutcome { changed: string[]; reloaded: boolean }

export async function applyDesired(d: DesiredState, templates: Templates, t: ApplyTargets, env: NodeJS.ProcessEnv): Promise<ApplyOutcome> {
  if (d.settings.scheduler === 'bacula') {
    const lookup = secretLookup(env);
    const files = renderBacula(d, templates).map((f) => {
      const r = fillSecrets(f.content, lookup);
      if (r.missing.length) throw new Error(`cannot fill secrets for ${f.path}: missing ${r.missing.join(', ')}`);
      return { ...f, content: r.text };
    });
    const r = await applyDirectorConfig(t.baculaConfigDir, 'bacula-dir.conf', files, t.bconsole, t.baculaBinary);
    return { changed: r.files, reloaded: r.reloaded };
  }
  const [cron] = renderCron(d, templates);
  const old = await readFile(t.cronFile, 'utf8').catch(() => undefined);
  if (old === cron!.content) return { changed: [], reloaded: false };
  await writeFileAtomic(t.cronFile, cron!.content, 0o644);
  return { changed: [t.cronFile], reloaded: false };
}
