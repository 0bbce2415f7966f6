// Apply: render the desired state, fill secret placeholders from the environment or systemd
// credentials (through the vault, so every filled value is scrubbed from what leaves the process),
// and install it — Bacula (tested with bacula-dir -t, then reloaded), or cron.d / systemd timers
// STAGED in the state dir for the root installer (`vmbackup schedule install`, run by
// vmbackup-schedule.path), or with --cron-file written directly. Nothing is written when nothing
// changed; a failure leaves the previous files in force; its message is scrubbed.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DesiredState, SecretRef } from '../core/model.js';
import { renderBacula, renderCron, type Templates } from '../core/render.js';
import { fillSecrets } from '../core/secrets-fill.js';
import { renderSystemd } from '../core/render-systemd.js';
import { STAGE_MANIFEST, STAGED_CRON } from '../core/schedule-install-check.js';
import { writeFileAtomic } from '../adapters/atomic-write.js';
import { stageSchedule } from '../adapters/schedule-stage.js';
import type { Bconsole } from '../adapters/bacula/bconsole.js';
import { applyDirectorConfig } from '../adapters/bacula/director-config.js';
import { defaultVault } from '../adapters/secrets/default-vault.js';
import type { SecretVault } from '../adapters/secrets/vault.js';

export interface ApplyTargets {
  /** Where bacula-dir.conf is installed (e.g. /etc/bacula). */
  baculaConfigDir: string;
  bconsole?: Bconsole;
  baculaBinary?: string;
  /** The cron.d file (e.g. /etc/cron.d/vmbackup), written directly: a daemon running as root. */
  cronFile?: string;
  /** Where cron.d / systemd schedule files are staged for `vmbackup schedule install` (<state-dir>/schedule). */
  scheduleDir?: string;
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
    // An empty stage: the installer removes a cron.d file or timers a previous scheduler staged.
    // Only when something was staged before: a director taken over as it runs changes nothing.
    const staged = t.scheduleDir && existsSync(join(t.scheduleDir, STAGE_MANIFEST)) ? await stageSchedule(t.scheduleDir, 'bacula', []) : [];
    return { changed: [...r.files, ...staged], reloaded: r.reloaded };
  }
  if (d.settings.scheduler === 'systemd') {
    if (!t.scheduleDir) throw new Error('scheduler: systemd needs the schedule stage directory (the daemon stages timers for vmbackup-schedule.path)');
    return { changed: await stageSchedule(t.scheduleDir, 'systemd', renderSystemd(d)), reloaded: false };
  }
  const [cron] = renderCron(d, templates);
  if (t.cronFile || !t.scheduleDir) {
    const target = t.cronFile ?? '/etc/cron.d/vmbackup';
    const old = await readFile(target, 'utf8').catch(() => undefined);
    if (old === cron!.content) return { changed: [], reloaded: false };
    await writeFileAtomic(target, cron!.content, 0o644);
    return { changed: [target], reloaded: false };
  }
  // The root installer accepts only jobs of the daemon's user: say so here, where the revision is refused visibly.
  if (d.settings.cron.user === 'root') throw new Error('settings.cron.user is root: vmbackup-schedule installs only jobs that run as vmbackup (set cron.user: vmbackup, or run the daemon as root with --cron-file)');
  return { changed: await stageSchedule(t.scheduleDir, 'cron', [{ path: STAGED_CRON, content: cron!.content }]), reloaded: false };
}
