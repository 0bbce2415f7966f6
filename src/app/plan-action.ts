// The work behind `vmbackup plan` (loaded only when it runs).
import { createLoadCache, formatDiagnostic } from '../core/load.js';
import { formatInvalidMarkdown, formatPlanMarkdown, formatPlanText } from '../core/plan-format.js';
import { jsonError } from './json-error.js';
import { planPolicyChange, retentionChangedVms } from '../core/policy-diff.js';
import { renderAll } from '../core/render.js';
import { loadSnapshot, readRecordedRestorePoints } from './policy-source.js';
import { EXIT } from './exit-codes.js';
import { readFilesUnder } from '../adapters/policy-files.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DesiredState } from '../core/model.js';
import { activePause, type Pause } from '../core/pause/pause.js';
import type { PlanHolds } from '../core/plan-format.js';
import { windowState } from '../core/schedule/window.js';
import { daemonStateDirOf } from './acting-policy.js';
import { DEFAULT_STATE_DIR } from './engine-setup.js';

/** The raw `templates/<name>` overrides of a revision (or the working tree): the plan lists added or changed ones. */
async function templateOverrides(repo: string, rev?: string): Promise<Map<string, string>> {
  if (rev === undefined) return readFilesUnder(repo, 'templates');
  const { readFilesAtRevision } = await import('../adapters/git/revision-files.js');
  const files = await readFilesAtRevision(repo, rev, (p) => /^templates\/[^/]+$/.test(p));
  return new Map(files.map((f) => [f.path.slice('templates/'.length), f.text]));
}

export interface PlanOpts { repo: string; base: string; head?: string; format: string; now?: string; stateDir?: string }

/** The pauses recorded in the state directory, when there is one here (plan never creates it). */
async function recordedPauses(opts: PlanOpts): Promise<Record<string, Pause>> {
  const dir = opts.stateDir ?? process.env.VMBACKUP_STATE_DIR ?? daemonStateDirOf(opts.repo) ?? DEFAULT_STATE_DIR;
  if (!existsSync(join(dir, 'state.json'))) return {};
  try {
    const [{ StateStore }, { readPauses }] = await Promise.all([import('../adapters/store/state-store.js'), import('../adapters/store/pauses.js')]);
    return await readPauses(await StateStore.open(dir));
  } catch (e) {
    process.stderr.write(`plan: warning: pauses in ${dir} not read: ${(e as Error).message}\n`);
    return {};
  }
}

/** Per enabled VM of the head: its window now (and next start) and the pause in force, if any. */
function planHolds(d: DesiredState, pauses: Record<string, Pause>, now: string): PlanHolds {
  const notes: PlanHolds['notes'] = {};
  for (const vm of d.vms) {
    if (!vm.enabled) continue;
    const paused = activePause(pauses, vm.name, now);
    const window = windowState(vm.window, now, d.settings.timeZone);
    if (paused || window) notes[vm.name] = { ...(paused ? { paused } : {}), ...(window ? { window } : {}) };
  }
  return { now, timeZone: d.settings.timeZone, notes };
}

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
  const holds = planHolds(head.load.desired, await recordedPauses(opts), now.toISOString());
  const text = opts.format === 'json' ? JSON.stringify({ ...plan, vmNotes: holds.notes }, null, 2) + '\n' : opts.format === 'markdown' ? formatPlanMarkdown(plan, holds) : formatPlanText(plan, holds);
  process.stdout.write(text);
  process.exitCode = plan.hasChanges ? EXIT.CHANGES : EXIT.OK;
}
