// Splits a pre_backup_commands string into argv exactly as a POSIX shell splits words, and refuses
// everything a shell would *interpret* (variables, pipes, redirections, ';', globs, comments) or that
// cannot be split exactly (an unterminated quote, a trailing backslash, a NUL): commands run as
// argv through execa, never through a shell, so a string never turns into a truncated command.

export type SplitResult = { argv: string[] } | { error: string };

const NOT_A_SHELL = 'commands run without a shell';
const OPERATORS = new Set(['|', '&', ';', '<', '>', '(', ')']);
/** After an unquoted `$`: what a shell would expand (name, ${, $(, positional or special parameter). */
const EXPANDS = /[A-Za-z0-9_{(@*#?$!-]/;

function splitString(text: string): SplitResult {
  if (text.includes('\0')) return { error: 'contains a NUL character, which cannot be passed in argv' };
  const s = text.replace(/[ \t\n]+$/, '');
  const argv: string[] = [];
  let word: string | undefined; // undefined: between words
  let hasUnquotedBracket = false;
  const endWord = (): SplitResult | undefined => {
    if (word === undefined) return undefined;
    if (hasUnquotedBracket && /\]/.test(word)) return { error: `glob pattern "${word}" is not allowed; ${NOT_A_SHELL}` };
    argv.push(word);
    word = undefined;
    hasUnquotedBracket = false;
    return undefined;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') { const e = endWord(); if (e) return e; continue; }
    if (c === '\n') return { error: `a newline separates shell commands; give one command per entry (${NOT_A_SHELL})` };
    if (c === '#' && word === undefined) return { error: `"#" starts a shell comment that would silently drop "${s.slice(i)}"; quote it or remove it` };
    if (OPERATORS.has(c)) return { error: `shell operator "${c}" is not allowed; ${NOT_A_SHELL} (use a list of argv or a script)` };
    if (c === '`' || (c === '$' && EXPANDS.test(s[i + 1] ?? ''))) return { error: `variables and command substitution are not allowed; ${NOT_A_SHELL}` };
    if (c === '*' || c === '?') return { error: `glob pattern "${(word ?? '') + s.slice(i).split(/[ \t]/)[0]}" is not allowed; ${NOT_A_SHELL}` };
    if (c === '~' && word === undefined) return { error: `"~" would be expanded by a shell; write the full path (${NOT_A_SHELL})` };
    if (c === '\\') {
      if (i + 1 >= s.length) return { error: 'a trailing backslash escapes nothing; remove it or quote it' };
      i++;
      if (s[i] !== '\n') word = (word ?? '') + s[i]; // backslash-newline joins lines, as in a shell
      continue;
    }
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return { error: `unterminated single quote at character ${i + 1}` };
      word = (word ?? '') + s.slice(i + 1, end);
      i = end;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let part = '';
      for (; j < s.length && s[j] !== '"'; j++) {
        const d = s[j]!;
        if (d === '`' || (d === '$' && EXPANDS.test(s[j + 1] ?? ''))) return { error: `variables and command substitution are not allowed; ${NOT_A_SHELL}` };
        if (d === '\\' && j + 1 < s.length && '$`"\\\n'.includes(s[j + 1]!)) { j++; if (s[j] !== '\n') part += s[j]; continue; }
        part += d;
      }
      if (j >= s.length) return { error: `unterminated double quote at character ${i + 1}` };
      word = (word ?? '') + part;
      i = j;
      continue;
    }
    if (c === '=' && argv.length === 0 && word !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(word) && !hasUnquotedBracket) {
      return { error: `"${word}=..." before the command sets a shell variable; ${NOT_A_SHELL} (use a script to set the environment)` };
    }
    if (c === '[') hasUnquotedBracket = true;
    word = (word ?? '') + c;
  }
  const e = endWord();
  if (e) return e;
  if (!argv.length) return { error: 'empty command' };
  return { argv };
}

export function splitCommand(cmd: string | readonly string[]): SplitResult {
  if (Array.isArray(cmd)) {
    if (cmd.length === 0 || cmd[0] === '') return { error: 'empty command' };
    if (cmd.some((a) => typeof a !== 'string' || a.includes('\0'))) return { error: 'every argv entry must be a string without NUL characters' };
    return { argv: [...cmd] };
  }
  return splitString(cmd as string);
}
