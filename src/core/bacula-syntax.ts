// Quoting for the two text formats render writes: Bacula director config and cron.d/sh.
// Verified against bacula-dir 9.6.7 (`-t` and bdirjson): inside "…" a backslash escapes the next
// character, so `\` and `"` are written `\\` and `\"`. RunScript commands are split into argv by
// Bacula itself (no shell): an argument may be wrapped whole in '…' or "…" (no escapes inside),
// and `%x` is a job code (`%i` JobId, `%e` exit status, …), so a literal `%` is `%%`.
import type { SecretRef } from './model.js';

const CONTROL = /[\u0000-\u001f\u007f]/;

function assertNoControl(what: string, s: string): void {
  if (CONTROL.test(s)) throw new RangeError(`${what}: control characters (newline, tab, …) cannot be rendered: ${JSON.stringify(s)}`);
}

/** Escape text for the inside of a Bacula double-quoted string. */
export function baculaEscape(s: string): string {
  assertNoControl('Bacula string', s);
  return s.replace(/[\\"]/g, (c) => `\\${c}`);
}

/** A complete Bacula double-quoted string: `"…"`. */
export function baculaQuote(s: string): string {
  return `"${baculaEscape(s)}"`;
}

/**
 * A bare Bacula token (no quotes), for directives whose parser rejects quoted strings, such as
 * `DirAddress` (bacula-dir 9.6.7: `Expected an IP number or a hostname, got: 127.0.0.1` when quoted).
 */
export function baculaWord(s: string): string {
  if (!/^[A-Za-z0-9._:-]+$/.test(s)) throw new RangeError(`Bacula address/word ${JSON.stringify(s)}: use letters, digits, '.', '_', ':', '-'`);
  return s;
}

/** A RunScript job code, kept verbatim: `%i`, `%e`, `%n`, … */
const JOB_CODE = /^%[a-zA-Z]$/;

/**
 * The text of a RunScript `Command` from argv (not yet quoted for the config file: pass the
 * result to baculaQuote). Arguments that are exactly a job code (`%i`) stay codes; every other
 * `%` is doubled. Arguments with blanks are wrapped in quotes Bacula's argv splitter honours.
 */
export function baculaCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new RangeError('RunScript command: empty argv');
  return argv.map((a) => {
    assertNoControl('RunScript argument', a);
    // %e expands to words ("Fatal Error"): quoted, Bacula still expands it and passes one argument.
    if (JOB_CODE.test(a)) return a === '%e' ? `'${a}'` : a;
    const arg = a.replace(/%/g, '%%');
    if (arg !== '' && !/[\s'"]/.test(arg)) return arg;
    if (!arg.includes("'")) return `'${arg}'`;
    if (!arg.includes('"')) return `"${arg}"`;
    throw new RangeError(`RunScript argument contains both quote kinds and blanks, which Bacula cannot pass: ${JSON.stringify(a)}`);
  }).join(' ');
}

/** The apply-time placeholder for a secret: `@@secret:env:NAME@@` / `@@secret:credential:NAME@@`. */
export function secretPlaceholder(ref: SecretRef): string {
  const [kind, name] = 'env' in ref ? ['env', ref.env] : ['credential', ref.credential];
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new RangeError(`secret ${kind} name ${JSON.stringify(name)}: use letters, digits, '_', '.', '-'`);
  return `@@secret:${kind}:${name}@@`;
}

/** True when rendered text still holds a secret placeholder (so its file must be 0600). */
export function hasSecretPlaceholder(text: string): boolean {
  return /@@secret:(env|credential):[A-Za-z0-9_.-]+@@/.test(text);
}

/** One word for /bin/sh: bare when safe, else single-quoted. */
export function shellWord(s: string): string {
  assertNoControl('shell word', s);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command line for a crontab: sh-quoted words, with `%` escaped as `\%` (cron turns a bare `%` into a newline). */
export function cronCommand(argv: readonly string[]): string {
  return argv.map(shellWord).join(' ').replace(/%/g, '\\%');
}

/** Text safe on one comment line: control characters and runs of blanks become one space. */
export function commentText(s: string): string {
  return s.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
}
