// `vmbackup schedule due`: flags and help; the work is in app/schedule-due-action.ts.
import type { Command } from 'commander';
import type { ScheduleDueOpts } from '../app/schedule-due-action.js';

export function registerScheduleDue(schedule: Command): void {
  schedule
    .command('due')
    .description('exit 0 when the schedule\'s latest run passes its filter (even ISO weeks, first week of the month), 1 when it does not')
    .argument('<schedule>', 'a schedule word (biweekly, monthly, …) or a 5-field cron expression')
    .requiredOption('--time-zone <tz>', 'the zone the schedule is in (settings.time_zone)')
    .option('--at <iso-time>', 'judge the run due at or before this time instead of now')
    .addHelpText('after', '\nUsed as ExecCondition= by the units `render` writes with scheduler: systemd.\nExit status: 0 due, 1 skipped by the filter, 255 invalid schedule, zone or time (systemd then marks the service failed).')
    .action(async (spec: string, opts: ScheduleDueOpts) => {
      const { scheduleDueAction } = await import('../app/schedule-due-action.js');
      scheduleDueAction(spec, opts);
    });
}
