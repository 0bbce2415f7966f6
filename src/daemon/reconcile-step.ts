// The reconcile step under the policy in force: observe → plan → execute → observe again (only if
// something ran) → status files written back. Returns what the cycle reports.
import type { Logger } from 'pino';
import type { DesiredState } from '../core/model.js';
import { planReconcile } from '../core/reconcile/plan.js';
import type { ReconcilePlan } from '../core/reconcile/types.js';
import { buildStatus } from '../core/status-build.js';
import type { FleetSummary, VmStatus } from '../core/status-model.js';
import { renderStatusFiles, statusCommitMessage } from '../core/status-render.js';
import { listStatusFiles, writeStatus } from '../adapters/git/status-writer.js';
import { readAuditForStatus } from '../adapters/store/audit-status.js';
import type { EngineContext } from '../engine/context.js';
import { pruneOptionsOf } from '../engine/prune.js';
import type { Bconsole } from '../adapters/bacula/bconsole.js';
import type { DaemonState } from './daemon-state.js';
import { executePlan, type ActionResult } from './execute.js';
import type { Gates } from './gates.js';
import { gatherObserved } from './observe.js';

export interface ReconcileOutcome {
  plan: ReconcilePlan;
  results: ActionResult[];
  statuses: VmStatus[];
  summary: FleetSummary;
  statusCommit?: string;
  /** The status commit when it reached the remote (or nothing was pending). */
  pushedHead?: string;
  /** status/audit/ files kept because the repository's copy was edited (VMB_AUDIT_DIVERGED). */
  auditDiverged?: string[];
}

export interface ReconcileStepDeps {
  ctx: EngineContext;
  log: Logger;
  st: DaemonState;
  bconsole?: Bconsole;
  stopping: () => boolean;
  /** Write status files back to the repository (dir: the daemon's checkout). */
  push?: { dir: string; branch: string };
  /** Last text filter before status files leave the process (secret redaction). */
  scrub?: (text: string) => string;
  /** The daemon's shared concurrency slots (gates.ts). */
  gates?: Gates;
}

export async function reconcileStep(d: ReconcileStepDeps, desired: DesiredState, revision: string): Promise<ReconcileOutcome> {
  const { ctx, st, log } = d;
  const now = (): string => ctx.now().toISOString();
  const opts = pruneOptionsOf(desired.settings);
  const observed = await gatherObserved(ctx, desired, st.removed, ctx.store);
  const plan = planReconcile(desired, revision, observed, now(), opts);
  log.info({ actions: plan.actions.map((a) => `${a.kind}:${'vm' in a ? a.vm : a.subject}`) }, 'plan');
  const results = await executePlan(ctx, plan, { ...(desired.settings.scheduler === 'bacula' && d.bconsole ? { bconsole: d.bconsole } : {}), jobWaitMs: desired.settings.backup.copyTimeoutHours * 3_600_000, maxConcurrent: desired.settings.bacula.maxConcurrentJobs, maxPerHost: 1, currentRevision: () => st.lastAppliedRevision!, stopping: d.stopping, ...(d.gates ? { gates: d.gates } : {}) });
  // Observe again only if something ran: the status must show what the actions changed.
  const after = results.length ? await gatherObserved(ctx, desired, st.removed, ctx.store) : observed;
  const afterPlan = results.length ? planReconcile(desired, revision, after, now(), opts) : plan;
  const space = await ctx.storage.space();
  const { statuses, summary, transitions } = buildStatus({ ...(st.transitions ? { transitions: st.transitions } : {}), desired, observed: after, plan: afterPlan, runs: await ctx.store.runs(), now: now(), appliedRevision: revision, ...(st.lastAttemptedRevision ? { attemptedRevision: st.lastAttemptedRevision } : {}), attemptErrors: st.lastAttemptErrors, ...(st.lastAttemptAt ? { attemptedAt: st.lastAttemptAt } : {}), ...(space.totalBytes ? { storage: { usedBytes: space.totalBytes - space.availBytes, totalBytes: space.totalBytes } } : {}) });
  st.transitions = transitions; // saved with the state at the end of the cycle
  const out: ReconcileOutcome = { plan, results, statuses, summary };
  if (d.push) {
    const sp = desired.settings.statusPath;
    const rendered = renderStatusFiles(statuses, summary, summary.generated_at, { statusPath: sp, timeZone: desired.settings.timeZone, existing: await listStatusFiles(d.push.dir, sp, d.push.branch) });
    const scrub = d.scrub ?? ((t: string) => t);
    const files = new Map([...rendered.files].map(([p, t]) => [p, scrub(t)] as [string, string]));
    // The audit trail rides along (status/audit/YYYY-MM.jsonl), append-only in git as in the state dir.
    const audit = await readAuditForStatus(ctx.stateDir, sp, d.push.dir);
    if (audit.unreadable.length) log.error({ code: 'VMB_AUDIT_UNREADABLE', files: audit.unreadable }, 'audit files in the state dir not copied to the status directory');
    const appendOnly = new Map([...audit.files].map(([p, t]) => [p, scrub(t)] as [string, string]));
    const w = await writeStatus(d.push.dir, files, rendered.deletions, scrub(statusCommitMessage(summary)), undefined, { statusPath: sp, branch: d.push.branch, appendOnly });
    if (w.diverged?.length) {
      out.auditDiverged = w.diverged;
      log.error({ code: 'VMB_AUDIT_DIVERGED', files: w.diverged }, 'the audit copy in the repository is not a prefix of the state dir\'s: kept as it is, not overwritten');
    }
    if (w.commit) { out.statusCommit = w.commit; if (w.pushed || !w.pending) out.pushedHead = w.commit; }
    if (w.error) log.warn({ err: w.error, pending: w.pending }, 'status not pushed yet; kept locally');
  }
  return out;
}
