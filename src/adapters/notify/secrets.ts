// Turns a SecretRef into its value: `{env: NAME}` from the environment, `{credential: NAME}` from
// systemd's $CREDENTIALS_DIRECTORY/NAME (LoadCredential=). Errors name the reference, never a value.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretRef } from '../../core/model.js';

export class SecretError extends Error {
  override readonly name = 'SecretError';
}

export type ReadSecretFile = (path: string) => string;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CREDENTIAL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;

/** `env SLACK_FAILURE_WEBHOOK` / `credential slack-digest-webhook`, for messages. */
export function describeSecret(ref: SecretRef): string {
  return 'env' in ref ? `env ${ref.env}` : `credential ${ref.credential}`;
}

/**
 * The secret's value (a credential file is trimmed of surrounding whitespace). Synchronous so it can
 * fill `@@secret:…@@` placeholders inside a String.replace callback. Throws SecretError.
 */
export function resolveSecret(
  ref: SecretRef,
  env: NodeJS.ProcessEnv = process.env,
  readFile: ReadSecretFile = (p) => readFileSync(p, 'utf8'),
): string {
  if ('env' in ref) {
    if (!ENV_NAME.test(ref.env)) throw new SecretError(`secret env ${JSON.stringify(ref.env)}: not a valid environment variable name`);
    const v = env[ref.env];
    if (v === undefined) throw new SecretError(`secret env ${ref.env}: environment variable ${ref.env} is not set`);
    if (v.trim() === '') throw new SecretError(`secret env ${ref.env}: environment variable ${ref.env} is empty`);
    return v;
  }
  const name = ref.credential;
  if (!CREDENTIAL_NAME.test(name) || name.includes('..')) {
    throw new SecretError(`secret credential ${JSON.stringify(name)}: not a valid credential name (letters, digits, _ . @ -)`);
  }
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) {
    throw new SecretError(`secret credential ${name}: $CREDENTIALS_DIRECTORY is not set (add LoadCredential=${name}:/path/to/file to the systemd unit)`);
  }
  let raw: string;
  try {
    raw = readFile(join(dir, name));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'read error';
    throw new SecretError(`secret credential ${name}: cannot read $CREDENTIALS_DIRECTORY/${name} (${code})`);
  }
  const v = raw.trim();
  if (v === '') throw new SecretError(`secret credential ${name}: $CREDENTIALS_DIRECTORY/${name} is empty`);
  return v;
}

/** Replaces every occurrence of each secret (and a URL's path, where webhook tokens live) in `text`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 4) continue;
    out = out.split(s).join('[redacted]');
    try {
      const u = new URL(s);
      const tail = u.pathname + u.search;
      if (tail.length > 4) out = out.split(tail).join('[redacted]');
    } catch { /* not a URL */ }
  }
  return out;
}
