// `vmbackup pause` / `vmbackup resume`: hold a VM's scheduled and catch-up backups for a while, with a reason.
// The command's flags and help live here; the work is imported only when it runs.
import type { Command } from 'commander';
import type { PauseOpts } from '../app/pause-action.js';

const STATE_DIR = 'state directory holding the pauses and the audit log (default $VMBACKUP_STATE_DIR or /var/lib/vmbackup)';
const REPO = 'policy repository working tree, used only where no daemon has applied a revision in the state dir (default .)';

export function registerPause(program: Command): void {
  program
    .command('pause [vm]')
    .description('hold a VM\'s scheduled and catch-up backups until a time, with a reason (or --list the pauses in force)')
    .option('--until <when>', 'a duration from now (30m, 6h, 2d, 1w, 1d12h) or an ISO time with a zone (2026-12-05T08:00:00Z); at most 90 days')
    .option('--reason <text>', 'why, one line (shown in plan, status, the digest and the audit log)')
    .option('--list', 'list the pauses in force')
    .option('--repo <dir>', REPO)
    .option('--state-dir <dir>', STATE_DIR)
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText('after', '\nThe pause ends by itself at --until; `vmbackup resume <vm>` ends it early. Scheduled runs (cron --schedule, Bacula jobs) and the daemon\'s catch-up skip the VM meanwhile; a manual `vmbackup backup <vm>` still runs (with a warning). Verify, test-restore and prune are not held. Every pause and resume is appended to the audit log.\nExit status: 0 done, 1 error (unknown VM, bad --until or --reason).')
    .action(async (vm: string | undefined, opts: PauseOpts) => {
      const { pauseAction } = await import('../app/pause-action.js');
      await pauseAction(vm, opts);
    });

  program
    .command('resume <vm>')
    .description('end a VM\'s pause now: its scheduled and catch-up backups run again')
    .option('--repo <dir>', REPO)
    .option('--state-dir <dir>', STATE_DIR)
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText('after', '\nExit status: 0 done (also when the VM was not paused), 1 error (unknown VM).')
    .action(async (vm: string, opts: PauseOpts) => {
      const { resumeAction } = await import('../app/pause-action.js');
      await resumeAction(vm, opts);
    });
}
