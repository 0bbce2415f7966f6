// Turns a SecretRef into its value: `{env: NAME}` from the environment, `{credential: NAME}` from
// systemd's $CREDENTIALS_DIRECTORY/NAME (LoadCredential=), through the vault that redacts it later.
// Errors name the reference, never a value.
import type { SecretRef } from '../../core/model.js';
import { defaultVault } from '../secrets/default-vault.js';
import { SecretVault, type ReadSecretFile } from '../secrets/vault.js';

export { describeSecret, SecretError, type ReadSecretFile } from '../secrets/vault.js';

/** The secret's value, remembered by `vault` (default: the process-wide one). Throws SecretError. */
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env, readFile?: ReadSecretFile, vault: SecretVault = defaultVault): string {
  return vault.resolve(ref, env, readFile);
}

/** Replaces every occurrence of each secret, and of its derived forms, in `text`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const v = new SecretVault();
  for (const s of secrets) v.remember(s);
  return v.scrub(text);
}
