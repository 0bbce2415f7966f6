// `vmbackup backup`, `check` and `cleanup`: the commands Bacula's RunScripts and cron call.
import type { Command } from 'commander';
import { engineOptions, type EngineCliOptions } from './engine-options.js';

export function registerBackup(program: Command): void {
  engineOptions(program
    .command('backup [vm]')
    .description('back up one VM now (or, with --schedule, every VM of a schedule one at a time in priority order)')
    .option('--schedule <name>', 'back up every enabled VM whose schedule is <name> (daily, weekly, biweekly, monthly, cron-…)')
    .option('--bacula-job-id <id>', 'the Bacula JobId (%i), recorded in the manifest'))
    .addHelpText('after', '\nSteps: lock, pre-checks, pre_backup_commands, snapshot (quiesced when method is quiesce), copy, blockcommit, checksums and manifest, post-checks, publish.\nScheduled runs (--schedule, --bacula-job-id) skip a VM that is paused (vmbackup pause) or outside its policy\'s window or in a blackout; a manual backup of one runs with a warning.\nExit status: 0 backed up (or skipped as held), 1 failed (nothing published), 75 another run holds the VM\'s lock.')
    .action(async (vm: string | undefined, opts: EngineCliOptions & { schedule?: string; baculaJobId?: string }) => {
      const { backupAction } = await import('../app/backup-action.js');
      await backupAction(vm, opts);
    });

  engineOptions(program
    .command('check <vm>')
    .description('run the pre-backup checks for a VM without backing it up'))
    .addHelpText('after', '\nExit status: 0 all checks pass, 1 a check failed.')
    .action(async (vm: string, opts: EngineCliOptions) => {
      const { checkAction } = await import('../app/backup-action.js');
      await checkAction(vm, opts);
    });

  engineOptions(program
    .command('notify <vm>')
    .description('report the end of a Bacula job (its After RunScript): alert when the job failed before vmbackup could say so itself')
    .requiredOption('--job-id <id>', 'Bacula JobId (%i)')
    .requiredOption('--job-status <status>', 'Bacula job exit status (%e): OK, Error, Fatal Error, Canceled, …'))
    .addHelpText('after', '\nNo alert for the job of a VM that is paused or outside its window (its backup was skipped, or its check failed while held).\nExit status: 0 always once the notification is queued (a notification problem must not fail the Bacula job).')
    .action(async (vm: string, opts: EngineCliOptions & { jobId: string; jobStatus: string }) => {
      const { notifyAction } = await import('../app/backup-action.js');
      await notifyAction(vm, opts);
    });

  engineOptions(program
    .command('cleanup <vm>')
    .description('recover from a crashed or killed run: commit leftover overlays, thaw, stop orphaned copies, remove .partial dirs'))
    .addHelpText('after', '\nExit status: 0 clean (or cleaned), 1 something could not be resolved safely (nothing is deleted then), 75 VM busy.')
    .action(async (vm: string, opts: EngineCliOptions) => {
      const { cleanupAction } = await import('../app/backup-action.js');
      await cleanupAction(vm, opts);
    });
}
