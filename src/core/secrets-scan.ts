// Finds secrets written literally into the repo, wherever they hide (a webhook URL in a
// description, a password in a pre-backup command): the repo is readable by every reviewer.
import type { PathSegment } from './yaml-source.js';

const PATTERNS: { re: RegExp; what: string }[] = [
  { re: /https?:\/\/hooks\.slack\.com\/(services|workflows|triggers)\/\S+/i, what: 'a Slack webhook URL' },
  { re: /https?:\/\/[^\s/]*\.webhook\.office\.com\/\S+/i, what: 'a Teams webhook URL' },
  { re: /https?:\/\/discord(app)?\.com\/api\/webhooks\/\S+/i, what: 'a Discord webhook URL' },
  { re: /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i, what: 'a URL with an embedded password' },
  { re: /xox[abprs]-[A-Za-z0-9-]{10,}/, what: 'a Slack token' },
  { re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: 'a private key' },
  { re: /(^|\s)(--?password|--?passwd|-p)[= ]\S+/i, what: 'a password on a command line' },
  { re: /(^|[\s;])(password|passwd|secret|token)\s*[=:]\s*\S+/i, what: 'a password assignment' },
];

export interface SecretHit { path: PathSegment[]; what: string }

/** Walks every string in a parsed file and reports the ones that look like a literal secret. */
export function findLiteralSecrets(value: unknown, path: PathSegment[] = [], out: SecretHit[] = []): SecretHit[] {
  if (typeof value === 'string') {
    for (const p of PATTERNS) if (p.re.test(value)) { out.push({ path: [...path], what: p.what }); break; }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => findLiteralSecrets(v, [...path, i], out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (/^(password|passwd|secret|token|webhook|url|.*_webhook|.*_password)$/i.test(k) && typeof v === 'string') {
        out.push({ path: [...path, k], what: `a literal value for "${k}"` });
        continue;
      }
      findLiteralSecrets(v, [...path, k], out);
    }
  }
  return out;
}
