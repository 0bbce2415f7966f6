// `vmbackup validate`: what CI runs on every pull request. Prints every problem, one per line.
// The command's flags and help live here; the work is imported only when it runs.
import type { Command } from 'commander';
import type { ValidateOpts } from '../app/validate-action.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a policy repository: JSON Schema, YAML safety and cross-file rules')
    .option('--repo <dir>', 'policy repository directory', '.')
    .option('--rev <rev>', 'validate a git revision instead of the working tree (the same checks, the same verdict)')
    .option('--json', 'print a JSON report instead of text')
    .addHelpText('after', '\nExit status: 0 valid (warnings allowed), 1 invalid or unreadable.\nEach problem prints as path:line:col: severity: message [CODE]; codes are listed in docs/errors.md.')
    .action(async (opts: ValidateOpts) => {
      const { validateAction } = await import('../app/validate-action.js');
      await validateAction(opts);
    });
}
