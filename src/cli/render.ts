// `vmbackup render`: writes the Bacula director config and the cron.d file from the policy repo.
// The command's flags and help live here; the work is imported only when it runs.
import type { Command } from 'commander';
import type { RenderOpts } from '../app/render-action.js';

export function registerRender(program: Command): void {
  program
    .command('render')
    .description('render bacula-dir.conf and vmbackup.cron from the policy repository and its templates')
    .option('--repo <dir>', 'policy repository directory', '.')
    .option('--rev <rev>', 'render a git revision instead of the working tree')
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--json', 'print the written files as JSON')
    .addHelpText('after', '\nSecrets are written as @@secret:env:NAME@@ / @@secret:credential:NAME@@ placeholders, filled at apply time; files holding them get mode 0600.\nExit status: 0 written, 1 invalid repo or write error.')
    .action(async (opts: RenderOpts) => {
      const { renderAction } = await import('../app/render-action.js');
      await renderAction(opts);
    });
}
