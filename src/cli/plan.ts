// `vmbackup plan`: what a policy change would do, for a PR comment. Exit 0 none, 2 changes, 1 error.
import type { Command } from 'commander';
import { formatDiagnostic } from '../core/load.js';
import { formatPlanMarkdown, formatPlanText } from '../core/plan-format.js';
import { planPolicyChange } from '../core/policy-diff.js';
import { renderAll } from '../core/render.js';
import { loadSnapshot, readRecordedRestorePoints } from '../app/policy-source.js';
import { EXIT } from './exit-codes.js';

interface PlanOpts { repo: string; base: string; head?: string; format: string; now?: string }

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('show what a change to the policy repository would do: protection, schedules, retention (with the restore points it would prune) and the rendered Bacula/cron diff')
    .option('--repo <dir>', 'policy repository (a git checkout)', '.')
    .option('--base <rev>', 'git revision to compare against', 'HEAD')
    .option('--head <rev>', 'git revision to plan (default: the working tree)')
    .option('--format <fmt>', 'text, markdown (for a PR comment) or json', 'text')
    .option('--now <iso>', 'evaluate schedules and retention at this time instead of the clock')
    .addHelpText('after', '\nExit status (like terraform plan -detailed-exitcode): 0 no changes, 2 changes, 1 error (invalid head, unknown revision).')
    .action(async (opts: PlanOpts) => {
      if (!['text', 'markdown', 'json'].includes(opts.format)) throw new Error(`--format must be text, markdown or json, not "${opts.format}"`);
      const now = opts.now ? new Date(opts.now) : new Date();
      if (Number.isNaN(now.getTime())) throw new Error(`--now "${opts.now}" is not an ISO time`);
      const [base, head] = await Promise.all([loadSnapshot(opts.repo, opts.base), loadSnapshot(opts.repo, opts.head)]);
      if (!head.load.ok) {
        for (const d of head.load.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
        process.stderr.write(`plan: ${head.label} is invalid; nothing planned\n`);
        process.exitCode = EXIT.ERROR;
        return;
      }
      if (!base.load.ok) process.stderr.write(`plan: warning: base ${base.label} is itself invalid; comparing against what could be read\n`);
      const points = await readRecordedRestorePoints(opts.repo, head.load.desired.settings.statusPath);
      const plan = planPolicyChange({
        base: { label: base.label, desired: base.load.desired, rendered: renderAll(base.load.desired, base.templates) },
        head: { label: head.label, desired: head.load.desired, rendered: renderAll(head.load.desired, head.templates) },
        restorePoints: points,
        now: now.toISOString(),
      });
      const text = opts.format === 'json' ? JSON.stringify(plan, null, 2) + '\n' : opts.format === 'markdown' ? formatPlanMarkdown(plan) : formatPlanText(plan);
      process.stdout.write(text);
      process.exitCode = plan.hasChanges ? EXIT.CHANGES : EXIT.OK;
    });
}
