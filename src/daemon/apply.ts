// Apply: render the desired state, fill secret placeholders from the environment or systemd
// credentials (through the vault, so every filled value is scrubbed from what leaves the process),
// and install it — Bacula (tested with bacula-dir -t, then reloaded) or cron.d. Nothing is written
// when nothing changed; a failure leaves the previous files in force; its message is scrubbed.
import { readFile } from 'node:fs/promises';
import type { DesiredState, SecretRef } from '../core/model.js';
import { renderBacula, renderCron, type Templates } from '../core/render.js';
import { fillSecrets } from '../core/secrets-fill.js';
import { writeFileAtomic } from '../adapters/atomic-write.js';
import type { Bconsole } from '../adapters/bacula/bconsole.js';
import { applyDirectorConfig } from '../adapters/bacula/director-config.js';
import { defaultVault } from '../adapters/secrets/default-vault.js';
import type { SecretVault } from '../adapters/secrets/vault.js';

export interface ApplyTargets {
  /** Where bacula-dir.conf is installed (e.g. /etc/bacula). */
  baculaConfigDir: string;
  bconsole?: Bconsole;
  baculaBinary?: string;
  /** The cron.d file (e.g. /etc/cron.d/vmbackup). */
  cronFile: string;
}

/**
 * Secret lookup: `{env}` from the environment, `{credential}` from $CREDENTIALS_DIRECTORY, through
 * the vault (which remembers the value). Undefined when absent; a control character throws SecretError.
 */
export function secretLookup(env: NodeJS.ProcessEnv, vault: SecretVault = defaultVault): (ref: SecretRef) => string | undefined {
  return vault.lookup(env);
}

export interface ApplyOutcome { changed: string[]; reloaded: boolean }

export async function applyDesired(d: DesiredState, templates: Templates, t: ApplyTargets, env: NodeJS.ProcessEnv, vault: SecretVault = defaultVault): Promise<ApplyOutcome> {
  try {
    return await install(d, templates, t, env, vault);
  } catch (e) {
    // The error may echo the filled config (bacula-dir -t quotes the offending line): scrub in place, keeping its class.
    if (e instanceof Error) e.message = vault.scrub(e.message);
    throw e;
  }
}

async function install(d: DesiredState, templates: Templates, t: ApplyTargets, env: NodeJS.ProcessEnv, vault: SecretVault): Promise<ApplyOutcome> {
  if (d.settings.scheduler === 'bacula') {
    const lookup = secretLookup(env, vault);
    const files = renderBacula(d, templates).map((f) => {
      const r = fillSecrets(f.content, lookup);
      if (r.missing.length) throw new Error(`cannot fill secrets for ${f.path}: missing ${r.missing.join(', ')}`);
      return { ...f, content: r.text };
    });
    const r = await applyDirectorConfig(t.baculaConfigDir, 'bacula-dir.conf', files, t.bconsole, t.baculaBinary, vault.scrub);
    return { changed: r.files, reloaded: r.reloaded };
  }
  const [cron] = renderCron(d, templates);
  const old = await readFile(t.cronFile, 'utf8').catch(() => undefined);
  if (old === cron!.content) return { changed: [], reloaded: false };
  await writeFileAtomic(t.cronFile, cron!.content, 0o644);
  return { changed: [t.cronFile], reloaded: false };
}
