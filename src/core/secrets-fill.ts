// Fills the `@@secret:env:NAME@@` / `@@secret:credential:NAME@@` placeholders that render leaves,
// escaping each value for a Bacula quoted string. Pure: the caller supplies the lookup.
import { baculaEscape } from './bacula-syntax.js';
import type { SecretRef } from './model.js';

const PLACEHOLDER = /@@secret:(env|credential):([A-Za-z0-9_.-]+)@@/g;

export function fillSecrets(text: string, lookup: (ref: SecretRef) => string | undefined): { text: string; missing: string[] } {
  const missing = new Set<string>();
  const out = text.replace(PLACEHOLDER, (_m, kind: string, name: string) => {
    const ref: SecretRef = kind === 'env' ? { env: name } : { credential: name };
    const v = lookup(ref);
    if (v === undefined) { missing.add(`${kind === 'env' ? 'environment variable' : 'credential'} ${name}`); return ''; }
    try { return baculaEscape(v); } catch {
      // Never the value: baculaEscape's own message quotes it.
      throw new RangeError(`secret ${kind} ${name}: the value contains a control character and cannot be written into a Bacula string`);
    }
  });
  return { text: out, missing: [...missing].sort() };
}
