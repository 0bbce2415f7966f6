// `vmbackup status`: the fleet at a glance, from the status files and the state store.
import type { Command } from 'commander';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('print the fleet\'s backup state as a table (from status/ in the repo and the daemon\'s state store)')
    .option('--repo <dir>', 'policy repository checkout holding status/ (the daemon keeps one in <state-dir>/repo)', '.')
    .option('--state-dir <dir>', 'state directory (default $VMBACKUP_STATE_DIR or /var/lib/vmbackup)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit status: 0 every VM ready, 1 some VM is not ready (or nothing to show), so monitoring scripts can use it.')
    .action(async (opts: { repo: string; stateDir?: string; json?: boolean }) => (await import('../app/status-action.js')).statusAction(opts));
}
