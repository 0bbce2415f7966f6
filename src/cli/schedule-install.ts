// `vmbackup schedule install`: flags and help; the work is in app/schedule-install-action.ts.
import type { Command } from 'commander';
import type { ScheduleInstallOpts } from '../app/schedule-install-action.js';

export function registerScheduleInstall(schedule: Command): void {
  schedule
    .command('install')
    .description('as root (vmbackup-schedule.service): check the schedule the daemon staged and install it into cron.d or systemd')
    .option('--from <dir>', 'the stage the daemon writes (<state-dir>/schedule); untrusted: every file is checked', '/var/lib/vmbackup/schedule')
    .option('--cron-dir <dir>', 'where the cron.d file `vmbackup` goes', '/etc/cron.d')
    .option('--unit-dir <dir>', 'where vmbackup-*.timer/.service go', '/etc/systemd/system')
    .option('--user <name>', 'the only user staged jobs and units may run as', 'vmbackup')
    .option('--group <name>', 'the only Group= staged units may name (default: --user)')
    .option('--systemctl <path>', 'the systemctl to run', 'systemctl')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nRefuses (installing nothing) a symlink or non-regular file, a job or unit not running as --user, a unit key outside the allow-list (docs/security.md).\nExit status: 0 installed or already in force, 1 refused [VMB_SCHEDULE_REFUSED] or failed.')
    .action(async (opts: ScheduleInstallOpts) => {
      const { scheduleInstallAction } = await import('../app/schedule-install-action.js');
      await scheduleInstallAction(opts);
    });
}
