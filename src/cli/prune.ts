// `vmbackup prune`: apply retention now, for sites that run backups from Bacula or cron without the daemon.
import type { Command } from 'commander';
import { engineOptions } from './engine-options.js';
import type { PruneOpts } from '../app/prune-action.js';

export function registerPrune(program: Command): void {
  engineOptions(program
    .command('prune [vm]')
    .description('delete the restore points retention no longer keeps, with the daemon\'s safety rules and mass-prune guard')
    .option('--all', 'every VM with backups on storage (VMs that left the repo keep theirs for removed_vm_grace_days)')
    .option('--dry-run', 'list what would be deleted; delete nothing'))
    .addHelpText('after', [
      '',
      'Never deletes the newest verified-good backup, nor anything while the newest backup is not good; storage is',
      're-read under the VM\'s lock before each deletion. A pass deleting more than settings.max_prune_percent (25)',
      'of a VM\'s (or all) restore points deletes nothing of them unless settings.allow_mass_prune is true.',
      'Exit status: 0 pruned (or nothing to prune; with --dry-run: listed), 1 error, 2 the mass-prune guard refused',
      '(nothing of those VMs deleted), 75 a VM was busy (its lock is held; try again later).',
    ].join('\n'))
    .action(async (vm: string | undefined, opts: PruneOpts) => (await import('../app/prune-action.js')).pruneAction(vm, opts));
}
