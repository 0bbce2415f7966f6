// Secrets are bound to their purpose: a reference may be used by the one setting that declares it
// (so a repo cannot send the director's password to an SMTP server), and the daemon's own secrets
// cannot be referenced by the repository at all. Pure: rules over the collected settings.
import { refAt, where, type Collected, type RawItem } from './collect.js';
import type { Diagnostic, SecretRef, SourceRef } from './model.js';
import type { PathSegment } from './yaml-source.js';

/** Settings whose secret has a default reference when the repo does not set one (src/core/settings.ts). */
export const DEFAULT_SECRET_REFS: readonly { setting: string; ref: SecretRef }[] = [
  { setting: 'settings.bacula.password', ref: { env: 'BACULA_DIR_PASSWORD' } },
  { setting: 'settings.bacula.client.password', ref: { env: 'BACULA_FD_PASSWORD' } },
  { setting: 'settings.bacula.storage.password', ref: { env: 'BACULA_SD_PASSWORD' } },
];

/** Why a reference belongs to the daemon itself, or undefined when the repo may use it. */
export function reservedReason(ref: SecretRef): string | undefined {
  if ('env' in ref) {
    const n = ref.env;
    if (/^VMBACKUP_/i.test(n)) return 'VMBACKUP_* variables configure the daemon itself (its webhook secret, its plain-text allowances)';
    if (/^(CREDENTIALS_DIRECTORY|PATH|HOME|NODE_OPTIONS|NODE_EXTRA_CA_CERTS|LD_PRELOAD|LD_LIBRARY_PATH)$/i.test(n)) return 'it configures the process, not a setting';
    return undefined;
  }
  const n = ref.credential;
  if (/^vmbackup-/i.test(n) || n === 'webhook-hmac-secret' || n === 'console-tokens') return 'it is a credential of the daemon itself';
  if (n.startsWith('.') || n.includes('..') || n.includes('/')) return 'a credential is a file name in $CREDENTIALS_DIRECTORY, not a path';
  return undefined;
}

const key = (ref: SecretRef): string => ('env' in ref ? `env ${ref.env}` : `credential ${ref.credential}`);

function asRef(v: unknown): SecretRef | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  const o = v as Record<string, unknown>;
  if (keys.length !== 1) return undefined;
  if (keys[0] === 'env' && typeof o.env === 'string') return { env: o.env };
  if (keys[0] === 'credential' && typeof o.credential === 'string') return { credential: o.credential };
  return undefined;
}

interface Use { setting: string; ref: SecretRef; at?: SourceRef }

/** Every `{env}` / `{credential}` under settings, with the setting that holds it and where. */
function usesIn(item: RawItem, value: unknown, sub: PathSegment[], out: Use[]): void {
  const ref = asRef(value);
  if (ref) {
    out.push({ setting: `settings.${sub.join('.')}`, ref, at: refAt(item, sub) });
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => usesIn(item, v, [...sub, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) usesIn(item, v, [...sub, k], out);
}

export function checkSecretRefs(c: Collected): Diagnostic[] {
  const uses: Use[] = [];
  for (const [k, item] of c.settings) usesIn(item, item.data[k], [k], uses);
  const declared = new Set(uses.map((u) => u.setting));
  const all: Use[] = [...DEFAULT_SECRET_REFS.filter((d) => !declared.has(d.setting)), ...uses];
  const out: Diagnostic[] = [];
  const first = new Map<string, Use>();
  for (const u of all) {
    if (!u.at) { first.set(key(u.ref), u); continue; } // defaults come first: the repo's use is the second
    const why = reservedReason(u.ref);
    if (why) {
      out.push({ code: 'VMB_SECRET_RESERVED', severity: 'error', file: u.at.file, line: u.at.line, col: u.at.col, field: u.setting, message: `${u.setting}: ${key(u.ref)} may not be referenced by the repository: ${why}` });
      continue;
    }
    const f = first.get(key(u.ref));
    if (f && f.setting !== u.setting) {
      const there = f.at ? `at ${where(f.at)}` : 'by default';
      out.push({ code: 'VMB_SECRET_REUSED', severity: 'error', file: u.at.file, line: u.at.line, col: u.at.col, field: u.setting, message: `${u.setting}: ${key(u.ref)} is already the secret of ${f.setting} (${there}); a secret may serve one setting only: give each its own` });
      continue;
    }
    if (!f) first.set(key(u.ref), u);
  }
  return out;
}
