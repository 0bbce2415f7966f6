// Splits a pre_backup_commands string into argv the way a shell splits words, but refuses
// everything a shell would *interpret* (variables, pipes, redirections, ';', globs): commands
// run as argv through execa, never through a shell.
import { parse } from 'shell-quote';

export function splitCommand(cmd: string | readonly string[]): { argv: string[] } | { error: string } {
  if (Array.isArray(cmd)) {
    if (cmd.length === 0 || cmd[0] === '') return { error: 'empty command' };
    return { argv: [...cmd] };
  }
  const text = cmd as string;
  if (/[`]|\$\(|\$\{|\$[A-Za-z_]/.test(text.replace(/'[^']*'/g, "''"))) {
    return { error: 'variables and command substitution are not allowed; commands run without a shell' };
  }
  const argv: string[] = [];
  for (const tok of parse(text, (name) => `$${name}`)) {
    if (typeof tok === 'string') { argv.push(tok); continue; }
    if ('op' in tok) {
      if (tok.op === 'glob') return { error: `glob pattern "${(tok as { pattern: string }).pattern}" is not allowed; commands run without a shell` };
      return { error: `shell operator "${tok.op}" is not allowed; commands run without a shell (use a list of argv or a script)` };
    }
    if ('comment' in tok) break;
  }
  if (!argv.length) return { error: 'empty command' };
  return { argv };
}
