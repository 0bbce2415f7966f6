// `vmbackup plan`: what a policy change would do, for a PR comment. Exit 0 none, 2 changes, 1 error.
// The command's flags and help live here; the work is imported only when it runs.
import type { Command } from 'commander';
import type { PlanOpts } from '../app/plan-action.js';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('show what a change to the policy repository would do: protection, schedules, retention (with the restore points it would prune) and the rendered Bacula/cron diff')
    .option('--repo <dir>', 'policy repository (a git checkout)', '.')
    .option('--base <rev>', 'git revision to compare against', 'HEAD')
    .option('--head <rev>', 'git revision to plan (default: the working tree)')
    .option('--format <fmt>', 'text, markdown (for a PR comment) or json', 'text')
    .option('--now <iso>', 'evaluate schedules and retention at this time instead of the clock')
    .option('--state-dir <dir>', 'state directory whose pauses to show (default $VMBACKUP_STATE_DIR or /var/lib/vmbackup, when present)')
    .addHelpText('after', '\nExit status (like terraform plan -detailed-exitcode): 0 no changes, 2 changes, 1 error (invalid head, unknown revision).')
    .action(async (opts: PlanOpts) => {
      const { planAction } = await import('../app/plan-action.js');
      await planAction(opts);
    });
}
