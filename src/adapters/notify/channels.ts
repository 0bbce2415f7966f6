// Resolves settings.notifications into concrete channels (secret references → values, through the
// vault). A channel whose secret cannot be resolved, or that would carry a secret in plain text
// without the daemon's own allowance, is left out and reported, so the others still work.
import type { SecretRef, Settings } from '../../core/model.js';
import { defaultVault } from '../secrets/default-vault.js';
import type { SecretVault } from '../secrets/vault.js';
import type { EmailChannel } from './email.js';
import { describeSecret, type ReadSecretFile } from './secrets.js';

export interface Channels {
  slackFailure?: string;
  slackDigest?: string;
  webhook?: string;
  email?: EmailChannel;
}

export interface ResolvedChannels {
  channels: Channels;
  /** Secret values, so logs and error messages can be scrubbed of them. */
  secrets: string[];
  /** One line per channel left out, naming the setting and the secret reference (never a value). */
  problems: string[];
}

/** What the daemon's own configuration (never the repository) allows in plain text. */
export interface PlaintextAllowance { smtp?: boolean; http?: boolean }

/** `VMBACKUP_ALLOW_PLAINTEXT_SMTP=1` / `VMBACKUP_ALLOW_PLAINTEXT_HTTP=1` in the process environment. */
export function plaintextAllowance(env: NodeJS.ProcessEnv): PlaintextAllowance {
  return { smtp: env.VMBACKUP_ALLOW_PLAINTEXT_SMTP === '1', http: env.VMBACKUP_ALLOW_PLAINTEXT_HTTP === '1' };
}

export function resolveChannels(
  n: Settings['notifications'],
  env: NodeJS.ProcessEnv = process.env,
  readFile?: ReadSecretFile,
  vault: SecretVault = defaultVault,
  allow: PlaintextAllowance = plaintextAllowance(env),
): ResolvedChannels {
  const channels: Channels = {};
  const secrets: string[] = [];
  const problems: string[] = [];
  const get = (setting: string, ref: SecretRef): string | undefined => {
    try {
      const v = vault.resolve(ref, env, readFile);
      secrets.push(v);
      return v;
    } catch (e) {
      problems.push(`${setting} (${describeSecret(ref)}) disabled: ${vault.scrub((e as Error).message)}`);
      return undefined;
    }
  };
  const url = (setting: string, ref: SecretRef): string | undefined => {
    const v = get(setting, ref);
    if (v === undefined) return undefined;
    if (!/^https?:\/\//i.test(v)) { problems.push(`${setting} (${describeSecret(ref)}) disabled: the value is not an http(s) URL`); return undefined; }
    if (!/^https:\/\//i.test(v) && !allow.http) {
      problems.push(`${setting} (${describeSecret(ref)}) disabled: a secret-bearing URL must be https (the daemon's environment may allow http with VMBACKUP_ALLOW_PLAINTEXT_HTTP=1)`);
      return undefined;
    }
    return v;
  };
  if (n.slack?.failureWebhook) {
    const v = url('notifications.slack.failure_webhook', n.slack.failureWebhook);
    if (v) channels.slackFailure = v;
  }
  if (n.slack?.digestWebhook) {
    const v = url('notifications.slack.digest_webhook', n.slack.digestWebhook);
    if (v) channels.slackDigest = v;
  }
  if (n.webhook) {
    const v = url('notifications.webhook.url', n.webhook.url);
    if (v) channels.webhook = v;
  }
  if (n.email) {
    const e = n.email;
    const password = e.password ? get('notifications.email.password', e.password) : undefined;
    if (e.to.length === 0 || !e.from) problems.push('notifications.email disabled: `from` and at least one `to` are required');
    else if (e.password && password === undefined) { /* reported by get() */ }
    else channels.email = { host: e.host, port: e.port, from: e.from, to: [...e.to], ...(e.user ? { user: e.user } : {}), ...(password !== undefined ? { password } : {}), ...(allow.smtp ? { allowPlaintext: true } : {}) };
  }
  return { channels, secrets, problems };
}
