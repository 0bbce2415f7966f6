// systemd unit-file syntax for values built from policy data: one argument quoted for ExecStart=
// and path lists, specifiers and variables made literal. Pure; never a /bin/sh in between.
//
// systemd.service(5) "Command lines": words split on whitespace, "…" / '…' quote, C escapes are
// decoded in quotes, `%` starts a specifier (literal `%%`), `$` a variable (literal `$$`), a lone
// `;` separates commands (literal `\;`). systemd.unit(5): a line ending in `\` continues; a value
// cannot hold a newline, so control characters are refused, never escaped.

/** The first control character in `s` (C0, DEL, C1, line/paragraph separators), if any. */
export function controlCharIn(s: string): string | undefined {
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.exec(s)?.[0];
}

const describeChar = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Throws RangeError when `value` cannot be written on one unit-file line. */
export function assertOneLine(value: string, what: string): void {
  const c = controlCharIn(value);
  if (c !== undefined) throw new RangeError(`${what} ${JSON.stringify(value)} holds the control character ${describeChar(c)}, which a systemd unit file cannot carry`);
}

/** `%` and `$` made literal (specifiers and variables are expanded in most unit values). */
export const systemdLiteral = (s: string): string => s.replace(/%/g, '%%').replace(/\$/g, '$$$$');

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One argument of ExecStart= (or a path list word): bare when plain, else double-quoted. */
export function systemdWord(arg: string): string {
  assertOneLine(arg, 'argument');
  if (arg === ';') return '\\;';
  const lit = systemdLiteral(arg);
  if (arg !== '' && SAFE_WORD.test(arg) && !arg.endsWith('\\')) return lit;
  return `"${lit.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A command line for ExecStart=/ExecCondition=: an absolute program path, then its arguments. */
export function systemdCommand(argv: readonly string[]): string {
  const [prog, ...rest] = argv;
  if (prog === undefined || !prog.startsWith('/')) throw new RangeError(`command ${JSON.stringify(prog ?? '')} must be an absolute path for a systemd unit`);
  // A prefix character (@ - : + !) would change how systemd runs the program; an absolute path has none.
  return [prog, ...rest].map(systemdWord).join(' ');
}

/** Free text (Description=): one line, specifiers literal (variables are not expanded there). */
export function systemdText(s: string): string {
  assertOneLine(s, 'text');
  return s.replace(/%/g, '%%').trim();
}
