// `vmbackup schedule <subcommand>`: the group of scheduler helpers.
import type { Command } from 'commander';
import { registerScheduleDue } from './schedule-due.js';
import { registerScheduleInstall } from './schedule-install.js';

export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('scheduler helpers for the units rendered with scheduler: systemd');
  registerScheduleDue(schedule);
  registerScheduleInstall(schedule);
}
