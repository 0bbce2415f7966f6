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

/** Every pattern needs one of these (`://` URLs, `=`/`:` assignments, `-p`, `xox`, PEM), so most strings skip them all. */
const MAYBE_SECRET = /[:=]|-[pP]|xox|-----BEGIN/;
const SECRET_KEY = /^(password|passwd|secret|token|webhook|url|.*_webhook|.*_password)$/i;

/** Walks every string in a parsed file and reports the ones that look like a literal secret. */
export function findLiteralSecrets(value: unknown, path: PathSegment[] = [], out: SecretHit[] = []): SecretHit[] {
  walk(value, [...path], out);
  return out;
}

/** `path` is one stack shared by the whole walk; a hit copies it. */
function walk(value: unknown, path: PathSegment[], out: SecretHit[]): void {
  if (typeof value === 'string') {
    if (!MAYBE_SECRET.test(value)) return;
    for (const p of PATTERNS) if (p.re.test(value)) { out.push({ path: [...path], what: p.what }); break; }
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walk(value[i], path, out);
      path.pop();
    }
  } else if (value && typeof value === 'object') {
    for (const k of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[k];
      path.push(k);
      if (typeof v === 'string' && SECRET_KEY.test(k)) out.push({ path: [...path], what: `a literal value for "${k}"` });
      else walk(v, path, out);
      path.pop();
    }
  }
}
