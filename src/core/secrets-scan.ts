// Finds secrets written literally into the repo, wherever they hide (a webhook URL in a
// description, a password in a pre-backup command, a comment): the repo is readable by every reviewer.
import { Lexer } from 'yaml';
import type { Diagnostic } from './model.js';
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

/** The string at `path` in a parsed value (the flagged text, so no later message prints it). */
export function stringAt(value: unknown, path: readonly PathSegment[]): string | undefined {
  let v: unknown = value;
  for (const s of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[s as string] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** Diagnostics never print a value that looks like a secret, whichever rule quoted it (copies; cached ones stay as they are). */
export function hideSecretValues(diags: readonly Diagnostic[], values: ReadonlySet<string>): Diagnostic[] {
  const long = [...values].filter((v) => v.length >= 4);
  if (!long.length) return [...diags];
  return diags.map((d) => {
    const message = long.reduce((m, v) => m.split(v).join('[value hidden: it looks like a secret]'), d.message);
    return message === d.message ? d : { ...d, message };
  });
}

/** What a string looks like when it looks like a secret (for messages that must not print it), else undefined. */
export function looksLikeSecret(s: string): string | undefined {
  if (!MAYBE_SECRET.test(s)) return undefined;
  return PATTERNS.find((p) => p.re.test(s))?.what;
}

/**
 * Comments are free prose (`-p 22`, `password: see the runbook`), so only unmistakable secrets
 * count there: webhook URLs, URLs with a password, tokens, private keys, and a password assignment
 * whose value is not a reference or placeholder.
 */
const COMMENT_PATTERNS = PATTERNS.filter((p) => p.what !== 'a password on a command line' && p.what !== 'a password assignment')
  .concat([{ re: /(^|[\s;])(password|passwd|secret|token)\s*[=:]\s*(?![{<$([]|see\b|ref)\S{6,}/i, what: 'a password assignment' }]);

const commentSecret = (c: string): string | undefined => (MAYBE_SECRET.test(c) ? COMMENT_PATTERNS.find((p) => p.re.test(c))?.what : undefined);

/** Offsets of YAML comments that hold a literal secret. A cheap text pass first; the yaml lexer only confirms candidates. */
export function findCommentSecrets(text: string): { offset: number; what: string }[] {
  const candidates = [...text.matchAll(/#[^\n]*/g)].filter((m) => commentSecret(m[0]));
  if (!candidates.length) return [];
  const out: { offset: number; what: string }[] = [];
  let offset = 0;
  let prev = '';
  for (const tok of new Lexer().lex(text)) {
    // \x02 document, \x18 flow end, \x1f scalar: markers the lexer adds, not text of the source.
    const marker = tok === '\u0002' || tok === '\u0018' || tok === '\u001f';
    if (!marker && tok.startsWith('#') && prev !== '\u001f') {
      const what = commentSecret(tok);
      if (what) out.push({ offset, what });
    }
    if (!marker) offset += tok.length;
    prev = tok;
  }
  return out;
}

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
