// The `init` command's flags; the work is in app/init-action.ts.
import { Command, Option } from 'commander';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('scaffold a new policy repository: example files with working $schema modelines, editor settings, the PR workflow')
    .argument('[dir]', 'directory to create or fill', '.')
    .addOption(new Option('--ci <kind>', 'which PR workflow to add').choices(['github', 'gitlab', 'none']).default('github'))
    .addHelpText('after', '\nRefuses, writing nothing, when any file it would write already exists.')
    .action(async (dir: string, opts: { ci: 'github' | 'gitlab' | 'none' }) => {
      const { initAction } = await import('../app/init-action.js');
      await initAction(dir, opts);
    });
}
