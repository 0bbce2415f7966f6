// One reconcile, Flux-style: fetch the source → verify trust → validate → apply (or keep the last
// applied revision in force) → observe → plan → execute → write status back → notify.
import type { Logger } from 'pino';
import { formatDiagnostic, loadPolicyRepo } from '../core/load.js';
import type { DesiredState } from '../core/model.js';
import { planReconcile, DEFAULT_RECONCILE_OPTIONS } from '../core/reconcile/plan.js';
import type { ReconcilePlan } from '../core/reconcile/types.js';
import { buildStatus } from '../core/status-build.js';
import type { FleetSummary, VmStatus } from '../core/status-model.js';
import { renderStatusFiles, statusCommitMessage } from '../core/status-render.js';
import type { Templates } from '../core/render.js';
import { policyRevision, readPolicyFilesAtRevision } from '../adapters/git/revision-files.js';
import { syncCheckout, verifyCommitSignature } from '../adapters/git/checkout.js';
import { listStatusFiles, writeStatus } from '../adapters/git/status-writer.js';
import { readFilesAtRevision } from '../adapters/git/revision-files.js';
import { resolveTemplates } from '../adapters/templates.js';
import { BackupStore } from '../adapters/storage/backup-store.js';
import type { StateStore } from '../adapters/store/state-store.js';
import { Hosts } from '../engine/hosts.js';
import type { EngineContext, Notifier } from '../engine/context.js';
import { applyDesired, type ApplyTargets } from './apply.js';
import { DirectorReloadError } from '../adapters/bacula/director-config.js';
import { readDaemonState, saveDaemonState, type DaemonState } from './daemon-state.js';
import { executePlan, type ActionResult } from './execute.js';
import { gatherObserved } from './observe.js';

export interface DaemonNotifier extends Notifier {
  configAlert(revision: string, errors: string[], appliedRevision?: string): Promise<void>;
  recovered(revision: string, failedRevision?: string): Promise<void>;
  /** Switch channels to those of the applied revision. */
  use?(desired: DesiredState, repoDir: string): Promise<void>;
  digest?(summary: FleetSummary, statuses: readonly VmStatus[]): Promise<void>;
}

export interface CycleDeps {
  source: string;
  branch: string;
  stateDir: string;
  store: StateStore;
  log: Logger;
  now: () => Date;
  env: NodeJS.ProcessEnv;
  notifier: DaemonNotifier;
  targets: ApplyTargets;
  trust?: { allowedSignersFile?: string; gpgKeyring?: string };
  pushStatus: boolean;
  stopping: () => boolean;
  /**
   * The branch head the last reconcile ended on (our status commit, or what it fetched), passed
   * when every trigger only says "the branch moved" (a local source changed, a push webhook). If
   * the fetched head is still that commit and its policy is applied, the move was our own status
   * push or a push already reconciled (a local push fires the watcher and its webhook): nothing is
   * reconciled. Else every status push would start another pass and a failing VM would be retried
   * back to back.
   */
  seenHead?: string;
  /** Called with every finished cycle (metrics). */
  onCycle?: (r: CycleResult) => void;
  /** Called with the revision in force as soon as it is known, before the (possibly long) reconcile (metrics). */
  onApplied?: (revision: string) => void;
  /**
   * The hypervisor connections for a revision's desired state, kept by the caller across cycles
   * (ssh ControlMaster connections survive from one poll to the next). Without it each cycle
   * opens its own and closes them at the end.
   */
  hostsFor?: (revision: string, desired: DesiredState) => Promise<Hosts>;
}

export interface CycleResult {
  revision?: string;
  applied: boolean;
  appliedRevision?: string;
  errors: string[];
  plan?: ReconcilePlan;
  results: ActionResult[];
  statusCommit?: string;
  statuses?: VmStatus[];
  summary?: FleetSummary;
  digestSchedule?: string;
  timeZone?: string;
  /** The newest branch head this cycle saw: its status commit, else the fetched commit. */
  head?: string;
  /** Nothing reconciled: the branch had not moved since the last reconcile (see CycleDeps.seenHead). */
  skipped?: boolean;
  ms: number;
}

async function desiredAt(dir: string, rev: string): Promise<{ desired: DesiredState; templates: Templates } | undefined> {
  const load = loadPolicyRepo(await readPolicyFilesAtRevision(dir, rev));
  if (!load.ok) return undefined;
  const tpl = await readFilesAtRevision(dir, rev, (p) => /^templates\/[^/]+$/.test(p));
  return { desired: load.desired, templates: await resolveTemplates(new Map(tpl.map((f) => [f.path.slice(10), f.text]))) };
}

/** Validate and apply `rev`; returns the errors that kept it from being applied (empty = applied). */
async function attempt(deps: CycleDeps, dir: string, rev: string): Promise<{ errors: string[]; retry?: boolean; desired?: DesiredState; templates?: Templates }> {
  if (deps.trust) {
    const v = await verifyCommitSignature(dir, rev, deps.trust);
    if (!v.trusted) return { errors: [`commit ${rev.slice(0, 12)} is not trusted: ${v.reason}`] };
  }
  const load = loadPolicyRepo(await readPolicyFilesAtRevision(dir, rev));
  if (!load.ok) return { errors: load.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic) };
  const at = await desiredAt(dir, rev);
  try {
    const out = await applyDesired(load.desired, at!.templates, deps.targets, deps.env);
    if (out.changed.length) deps.log.info({ revision: rev, files: out.changed, reloaded: out.reloaded }, 'configuration applied');
  } catch (e) {
    return { errors: [(e as Error).message], ...(e instanceof DirectorReloadError ? { retry: true } : {}) };
  }
  return { errors: [], desired: load.desired, templates: at!.templates };
}

export async function runCycle(deps: CycleDeps): Promise<CycleResult> {
  const t0 = performance.now();
  const log = deps.log.child({ cycle: deps.now().toISOString() });
  const st: DaemonState = readDaemonState(deps.store);
  const appliedBefore = st.lastAppliedRevision;
  const co = await syncCheckout({ source: deps.source, stateDir: deps.stateDir, branch: deps.branch });
  if (co.fetchError) log.warn({ err: co.fetchError }, 'fetch failed; using the last fetched revision');
  // Status commits (ours) change no policy: the revision that matters is the newest commit
  // that touched anything outside status/.
  const rev = await policyRevision(co.dir, co.commit, st.statusPath ?? 'status');
  let errors: string[] = [];
  let desired: DesiredState | undefined;
  if (rev === st.lastAttemptedRevision && st.lastAttemptErrors.length && !st.lastAttemptRetry) errors = st.lastAttemptErrors; // already alerted
  else if (rev !== st.lastAppliedRevision) {
    const a = await attempt(deps, co.dir, rev);
    errors = a.errors;
    st.lastAttemptedRevision = rev;
    st.lastAttemptAt = deps.now().toISOString();
    st.lastAttemptErrors = errors;
    if (a.retry) st.lastAttemptRetry = true;
    else delete st.lastAttemptRetry;
    if (!errors.length) {
      const wasBroken = st.alertedRevisions.length > 0 && st.lastAppliedRevision !== undefined;
      desired = a.desired;
      const gone = st.appliedVms.filter((n) => !a.desired!.vms.some((v) => v.name === n));
      const prev = st.lastAppliedRevision ? await desiredAt(co.dir, st.lastAppliedRevision).catch(() => undefined) : undefined;
      for (const n of gone) st.removed[n] = { since: deps.now().toISOString(), retention: prev?.desired.vms.find((v) => v.name === n)?.retention ?? { keepLast: 1 } };
      for (const v of a.desired!.vms) delete st.removed[v.name];
      st.lastAppliedRevision = rev;
      st.appliedVms = a.desired!.vms.map((v) => v.name);
      st.statusPath = a.desired!.settings.statusPath;
      await deps.notifier.use?.(a.desired!, co.dir);
      if (wasBroken) { const failed = st.alertedRevisions.at(-1); st.alertedRevisions = []; await deps.notifier.recovered(rev, failed !== rev ? failed : undefined); }
    } else if (!st.alertedRevisions.includes(rev)) {
      st.alertedRevisions.push(rev);
      log.error({ revision: rev, errors }, 'revision not applied; the last applied revision stays in force');
      await deps.notifier.configAlert(rev, errors, st.lastAppliedRevision);
    }
  }
  if (!desired && st.lastAppliedRevision) {
    desired = (await desiredAt(co.dir, st.lastAppliedRevision))?.desired;
    if (desired) await deps.notifier.use?.(desired, co.dir);
  }
  await saveDaemonState(deps.store, st);
  if (st.lastAppliedRevision) deps.onApplied?.(st.lastAppliedRevision); // also when a broken head keeps the last one in force
  const result: CycleResult = { revision: rev, applied: !errors.length && st.lastAppliedRevision === rev, ...(st.lastAppliedRevision ? { appliedRevision: st.lastAppliedRevision } : {}), errors: st.lastAttemptErrors, results: [], head: co.commit, ms: 0 };
  // Not when this cycle just applied a revision: our last status push may sit on top of a new one.
  const seen = deps.seenHead !== undefined && co.commit === deps.seenHead && rev === appliedBefore;
  if (seen) log.info({ head: co.commit }, 'the branch has not moved since the last reconcile; nothing to do');
  if (!desired || deps.stopping() || seen) { result.ms = performance.now() - t0; return { ...result, ...(seen ? { skipped: true } : {}) }; }

  const hosts = deps.hostsFor ? await deps.hostsFor(st.lastAppliedRevision!, desired) : new Hosts(desired);
  const ctx: EngineContext = { desired, revision: st.lastAppliedRevision!, hosts, storage: new BackupStore(desired.settings.storageRoot), store: deps.store, stateDir: deps.stateDir, log, now: deps.now, notifier: deps.notifier };
  try {
    const reconcileOpts = { ...DEFAULT_RECONCILE_OPTIONS, allowMassPrune: desired.settings.allowMassPrune, maxPruneShare: desired.settings.maxPruneShare, removedGraceDays: desired.settings.removedVmGraceDays };
    const observed = await gatherObserved(ctx, desired, st.removed, deps.store);
    const plan = planReconcile(desired, st.lastAppliedRevision!, observed, deps.now().toISOString(), reconcileOpts);
    result.plan = plan;
    log.info({ actions: plan.actions.map((a) => `${a.kind}:${'vm' in a ? a.vm : a.subject}`) }, 'plan');
    result.results = await executePlan(ctx, plan, { ...(desired.settings.scheduler === 'bacula' && deps.targets.bconsole ? { bconsole: deps.targets.bconsole } : {}), jobWaitMs: desired.settings.backup.copyTimeoutHours * 3_600_000, maxConcurrent: desired.settings.bacula.maxConcurrentJobs, maxPerHost: 1, currentRevision: () => st.lastAppliedRevision!, stopping: deps.stopping });
    // Observe again only if something ran: the status must show what the actions changed.
    const after = result.results.length ? await gatherObserved(ctx, desired, st.removed, deps.store) : observed;
    const afterPlan = result.results.length ? planReconcile(desired, st.lastAppliedRevision!, after, deps.now().toISOString(), reconcileOpts) : plan;
    const space = await ctx.storage.space();
    const { statuses, summary } = buildStatus({ desired, observed: after, plan: afterPlan, runs: await deps.store.runs(), now: deps.now().toISOString(), appliedRevision: st.lastAppliedRevision!, ...(st.lastAttemptedRevision ? { attemptedRevision: st.lastAttemptedRevision } : {}), attemptErrors: st.lastAttemptErrors, ...(st.lastAttemptAt ? { attemptedAt: st.lastAttemptAt } : {}), ...(space.totalBytes ? { storage: { usedBytes: space.totalBytes - space.availBytes, totalBytes: space.totalBytes } } : {}) });
    result.statuses = statuses;
    result.summary = summary;
    result.timeZone = desired.settings.timeZone;
    if (desired.settings.notifications.slack?.digestSchedule) result.digestSchedule = desired.settings.notifications.slack.digestSchedule;
    if (deps.pushStatus) {
      const rendered = renderStatusFiles(statuses, summary, summary.generated_at, { statusPath: desired.settings.statusPath, timeZone: desired.settings.timeZone, existing: await listStatusFiles(co.dir, desired.settings.statusPath, deps.branch) });
      const w = await writeStatus(co.dir, rendered.files, rendered.deletions, statusCommitMessage(summary), undefined, { statusPath: desired.settings.statusPath, branch: deps.branch });
      if (w.commit) { result.statusCommit = w.commit; if (w.pushed || !w.pending) result.head = w.commit; }
      if (w.error) log.warn({ err: w.error, pending: w.pending }, 'status not pushed yet; kept locally');
    }
    st.lastReconcileAt = deps.now().toISOString();
    await saveDaemonState(deps.store, st);
  } finally {
    if (!deps.hostsFor) await ctx.hosts.closeAll();
  }
  result.ms = performance.now() - t0;
  deps.onCycle?.(result);
  return result;
}
