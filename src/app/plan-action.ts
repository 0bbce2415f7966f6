// The work behind `vmbackup plan` (loaded only when it runs).
import { createLoadCache, formatDiagnostic } from '../core/load.js';
import { formatInvalidMarkdown, formatPlanMarkdown, formatPlanText } from '../core/plan-format.js';
import { jsonError } from './json-error.js';
import { planPolicyChange, retentionChangedVms } from '../core/policy-diff.js';
import { renderAll } from '../core/render.js';
import { loadSnapshot, readRecordedRestorePoints } from './policy-source.js';
import { EXIT } from './exit-codes.js';
import { readFilesUnder } from '../adapters/policy-files.js';

/** The raw `templates/<name>` overrides of a revision (or the working tree): the plan lists added or changed ones. */
async function templateOverrides(repo: string, rev?: string): Promise<Map<string, string>> {
  if (rev === undefined) return readFilesUnder(repo, 'templates');
  const { readFilesAtRevision } = await import('../adapters/git/revision-files.js');
  const files = await readFilesAtRevision(repo, rev, (p) => /^templates\/[^/]+$/.test(p));
  return new Map(files.map((f) => [f.path.slice('templates/'.length), f.text]));
}

export interface PlanOpts { repo: string; base: string; head?: string; format: string; now?: string }

export async function planAction(opts: PlanOpts): Promise<void> {
  if (!['text', 'markdown', 'json'].includes(opts.format)) throw new Error(`--format must be text, markdown or json, not "${opts.format}"`);
  const now = opts.now ? new Date(opts.now) : new Date();
  if (Number.isNaN(now.getTime())) throw new Error(`--now "${opts.now}" is not an ISO time`);
  // Files unchanged between the two revisions are parsed and checked once.
  const cache = createLoadCache();
  const [base, head, baseTpl, headTpl] = await Promise.all([loadSnapshot(opts.repo, opts.base, cache), loadSnapshot(opts.repo, opts.head, cache), templateOverrides(opts.repo, opts.base), templateOverrides(opts.repo, opts.head)]);
  cache.files.clear();
  if (!head.load.ok) {
    for (const d of head.load.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
    process.stderr.write(`plan: ${head.label} is invalid; nothing planned\n`);
    // A broken PR still gets a useful comment (markdown) or a machine-readable error (json).
    if (opts.format === 'markdown') process.stdout.write(formatInvalidMarkdown(base.label, head.label, head.load.diagnostics));
    if (opts.format === 'json') process.stdout.write(jsonError('INVALID_POLICY', `${head.label} is invalid; nothing planned`, { diagnostics: head.load.diagnostics }));
    process.exitCode = EXIT.ERROR;
    return;
  }
  if (!base.load.ok) process.stderr.write(`plan: warning: base ${base.label} is itself invalid; comparing against what could be read\n`);
  // Without a retention change no restore point is needed; with one, every VM's (the guard's pass-wide rule counts them all).
  const changed = retentionChangedVms(base.load.desired, head.load.desired);
  const points = changed.size ? await readRecordedRestorePoints(opts.repo, head.load.desired.settings.statusPath) : new Map();
  const plan = planPolicyChange({
    base: { label: base.label, desired: base.load.desired, rendered: renderAll(base.load.desired, base.templates), templateOverrides: baseTpl },
    head: { label: head.label, desired: head.load.desired, rendered: renderAll(head.load.desired, head.templates), templateOverrides: headTpl },
    restorePoints: points,
    now: now.toISOString(),
    warnings: head.load.diagnostics.filter((d) => d.severity === 'warning'),
  });
  const text = opts.format === 'json' ? JSON.stringify(plan, null, 2) + '\n' : opts.format === 'markdown' ? formatPlanMarkdown(plan) : formatPlanText(plan);
  process.stdout.write(text);
  process.exitCode = plan.hasChanges ? EXIT.CHANGES : EXIT.OK;
}
