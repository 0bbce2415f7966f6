// Resolves settings.notifications into concrete channels (secret references → values). A channel
// whose secret cannot be resolved is left out and reported, so the others still work.
import type { Settings } from '../../core/model.js';
import type { EmailChannel } from './email.js';
import { describeSecret, resolveSecret, type ReadSecretFile } from './secrets.js';

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

export function resolveChannels(
  n: Settings['notifications'],
  env: NodeJS.ProcessEnv = process.env,
  readFile?: ReadSecretFile,
): ResolvedChannels {
  const channels: Channels = {};
  const secrets: string[] = [];
  const problems: string[] = [];
  const get = (setting: string, ref: Parameters<typeof resolveSecret>[0]): string | undefined => {
    try {
      const v = resolveSecret(ref, env, readFile);
      secrets.push(v);
      return v;
    } catch (e) {
      problems.push(`${setting} (${describeSecret(ref)}) disabled: ${(e as Error).message}`);
      return undefined;
    }
  };
  const url = (setting: string, ref: Parameters<typeof resolveSecret>[0]): string | undefined => {
    const v = get(setting, ref);
    if (v === undefined) return undefined;
    if (!/^https?:\/\//i.test(v)) { problems.push(`${setting} (${describeSecret(ref)}) disabled: the value is not an http(s) URL`); return undefined; }
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
    else channels.email = { host: e.host, port: e.port, from: e.from, to: [...e.to], ...(e.user ? { user: e.user } : {}), ...(password !== undefined ? { password } : {}) };
  }
  return { channels, secrets, problems };
}
