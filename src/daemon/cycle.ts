// One reconcile, Flux-style, as a straight line of steps: fetch the source → decide the revision
// (gate, trust over history, validate, apply: src/core/revision/decide.ts) → remember it → take
// the policy in force from the PolicySource → announce (alert once / recovered) → reconcile
// (publish the applied revision to runs_on: hypervisor hosts, observe, plan, execute, status
// write-back). A refused head never acts: the applied revision
// stays in force for the daemon and, through the recorded applied revision, for every other process.
import type { Logger } from 'pino';
import { execa } from 'execa';
import type { DesiredState } from '../core/model.js';
import type { RevisionDecision } from '../core/revision/decide.js';
import type { ReconcilePlan } from '../core/reconcile/types.js';
import type { FleetSummary, VmStatus } from '../core/status-model.js';
import type { PolicySnapshot, PolicySource } from '../ports/policy-source.js';
import { policyRevision } from '../adapters/git/revision-files.js';
import { syncCheckout } from '../adapters/git/checkout.js';
import type { HistoryTrustOptions } from '../adapters/git/trust-history.js';
import { BackupStore } from '../adapters/storage/backup-store.js';
import type { StateStore } from '../adapters/store/state-store.js';
import { Hosts } from '../engine/hosts.js';
import type { EngineContext, Notifier } from '../engine/context.js';
import type { ApplyTargets } from './apply.js';
import { readDaemonState, saveDaemonState, type DaemonState } from './daemon-state.js';
import type { ActionResult } from './execute.js';
import type { Gates } from './gates.js';
import { publishStep, type PublishResult } from './publish-step.js';
import { reconcileStep } from './reconcile-step.js';
import { revisionStep } from './revision-step.js';

export interface DaemonNotifier extends Notifier {
  configAlert(revision: string, errors: string[], appliedRevision?: string, stage?: string): Promise<void>;
  recovered(revision: string, failedRevision?: string): Promise<void>;
  /** Switch channels (and notification templates) to those of the revision in force. */
  use?(snapshot: PolicySnapshot): Promise<void>;
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
  /** The policy at a revision of the daemon's checkout. */
  policy: PolicySource;
  /** Signature checking over history; absent: commits need no signature. */
  trust?: HistoryTrustOptions;
  pushStatus: boolean;
  stopping: () => boolean;
  /** Last text filter before status files leave the process (secret redaction). */
  scrub?: (text: string) => string;
  /**
   * The branch head the last reconcile ended on (our status commit, or what it fetched), passed
   * when every trigger only says "the branch moved" (a local source changed, a push webhook). If
   * the fetched head is still that commit and no new revision was applied, the move was our own
   * status push or a push already reconciled: nothing is reconciled (no status-push loop, also
   * while a refused head sits on the branch).
   */
  seenHead?: string;
  /** Called with every finished cycle (metrics). */
  onCycle?: (r: CycleResult) => void;
  /** Called with the revision in force as soon as it is known, before the (possibly long) reconcile (metrics). */
  onApplied?: (revision: string) => void;
  /** Hypervisor connections kept by the caller across cycles; without it each cycle opens and closes its own. */
  hostsFor?: (revision: string, desired: DesiredState) => Promise<Hosts>;
  /** The daemon's concurrency slots, shared with the console's ad-hoc queue (gates.ts). */
  gates?: Gates;
}

export interface CycleResult {
  revision?: string;
  applied: boolean;
  appliedRevision?: string;
  /** What the revision step decided about the fetched candidate. */
  verdict?: RevisionDecision['verdict'];
  errors: string[];
  plan?: ReconcilePlan;
  results: ActionResult[];
  statusCommit?: string;
  statuses?: VmStatus[];
  /** Every hypervisor of the policy in force (with VMs or not) → whether it answered this pass (host_reachable). */
  hosts?: Record<string, boolean>;
  summary?: FleetSummary;
  digestSchedule?: string;
  timeZone?: string;
  /** The newest branch head this cycle saw: its status commit, else the fetched commit. */
  head?: string;
  /** Hypervisor mode: whether each runs_on: hypervisor host has the applied revision. */
  published?: PublishResult[];
  /** Nothing reconciled: the branch had not moved since the last reconcile (see CycleDeps.seenHead). */
  skipped?: boolean;
  ms: number;
}

/** The ref that keeps the applied revision's objects in the daemon's checkout (gc never drops them). */
export const APPLIED_REF = 'refs/vmbackup/applied';

export async function runCycle(deps: CycleDeps): Promise<CycleResult> {
  const t0 = performance.now();
  const log = deps.log.child({ cycle: deps.now().toISOString() });
  const st: DaemonState = readDaemonState(deps.store);

  // 1. Fetch: the candidate is the newest commit that touched policy (our status commits change none).
  const co = await syncCheckout({ source: deps.source, stateDir: deps.stateDir, branch: deps.branch });
  if (co.fetchError) log.warn({ err: co.fetchError }, 'fetch failed; using the last fetched revision');
  const candidate = await policyRevision(co.dir, co.commit, st.statusPath ?? 'status');

  // 2. Decide: gate → trust over history → validate → apply, then the pure decision.
  const decision = await revisionStep({ policy: deps.policy, targets: deps.targets, env: deps.env, log, ...(deps.trust ? { trust: deps.trust } : {}) }, co.dir, st, candidate, st.statusPath ?? 'status', deps.now().toISOString());

  // 3. Take the policy in force from the port (the applied revision, never the fetched working tree).
  const inForce = decision.inForce ? await deps.policy.at(decision.inForce) : undefined;
  const desired = inForce?.load.ok ? inForce.load.desired : undefined;

  // 4. Remember: the decision's state, removed VMs, and the applied ref every process reads.
  await remember(deps, co.dir, st, decision, desired);
  if (st.lastAppliedRevision) deps.onApplied?.(st.lastAppliedRevision); // also when a broken head keeps the last one in force

  // 5. Announce, through the channels of the revision in force (a refused head cannot silence or redirect its own alert).
  if (inForce) await deps.notifier.use?.(inForce);
  if (decision.alert) {
    log.error({ revision: decision.alert.revision, stage: decision.alert.stage, errors: decision.alert.errors }, 'revision not applied; the last applied revision stays in force');
    await deps.notifier.configAlert(decision.alert.revision, decision.alert.errors, decision.alert.appliedRevision, decision.alert.stage);
  }
  if (decision.recovered) await deps.notifier.recovered(decision.recovered.revision, decision.recovered.failedRevision);

  const result: CycleResult = { revision: candidate, applied: decision.verdict === 'applied' || decision.verdict === 'unchanged', verdict: decision.verdict, ...(st.lastAppliedRevision ? { appliedRevision: st.lastAppliedRevision } : {}), errors: st.lastAttemptErrors, results: [], head: co.commit, ms: 0 };
  const seen = deps.seenHead !== undefined && co.commit === deps.seenHead && decision.verdict !== 'applied';
  if (seen) log.info({ head: co.commit }, 'the branch has not moved since the last reconcile; nothing to do');
  if (!desired || deps.stopping() || seen) { result.ms = performance.now() - t0; return { ...result, ...(seen ? { skipped: true } : {}) }; }

  // 6. Reconcile under the policy in force.
  const revision = st.lastAppliedRevision!;
  const hosts = deps.hostsFor ? await deps.hostsFor(revision, desired) : new Hosts(desired);
  const ctx: EngineContext = { desired, revision, hosts, storage: new BackupStore(desired.settings.storageRoot), store: deps.store, stateDir: deps.stateDir, log, now: deps.now, notifier: deps.notifier };
  try {
    // 6a. Hypervisor mode: each runs_on: hypervisor host gets the applied revision (never another one).
    result.published = await publishStep({ dir: co.dir, revision, desired, hosts, log, nowMs: deps.now().getTime(), store: deps.store });
    const r = await reconcileStep({ ctx, log, st, ...(deps.targets.bconsole ? { bconsole: deps.targets.bconsole } : {}), stopping: deps.stopping, ...(deps.pushStatus ? { push: { dir: co.dir, branch: deps.branch } } : {}), ...(deps.scrub ? { scrub: deps.scrub } : {}), ...(deps.gates ? { gates: deps.gates } : {}) }, desired, revision);
    Object.assign(result, { plan: r.plan, results: r.results, statuses: r.statuses, summary: r.summary, timeZone: desired.settings.timeZone });
    const down = new Set(r.plan.actions.flatMap((a) => (a.kind === 'report' && a.what === 'host-unreachable' ? [a.subject] : [])));
    result.hosts = Object.fromEntries(desired.hypervisors.map((h) => [h.name, !down.has(h.name)]));
    if (r.statusCommit) result.statusCommit = r.statusCommit;
    if (r.pushedHead) result.head = r.pushedHead;
    if (desired.settings.notifications.slack?.digestSchedule) result.digestSchedule = desired.settings.notifications.slack.digestSchedule;
    st.lastReconcileAt = deps.now().toISOString();
    await saveDaemonState(deps.store, st);
  } finally {
    if (!deps.hostsFor) await ctx.hosts.closeAll();
  }
  result.ms = performance.now() - t0;
  deps.onCycle?.(result);
  return result;
}

/** Saves the decision into `st` (mutated: the caller keeps using it) and points APPLIED_REF at the applied revision. */
async function remember(deps: CycleDeps, dir: string, st: DaemonState, decision: RevisionDecision, desired: DesiredState | undefined): Promise<void> {
  Object.assign(st, decision.state);
  if (!('lastAttemptRetry' in decision.state)) delete st.lastAttemptRetry;
  if (decision.verdict === 'applied' && desired) {
    const previous = decision.changed?.previous;
    const prev = previous ? await deps.policy.at(previous).catch(() => undefined) : undefined;
    const gone = st.appliedVms.filter((n) => !desired.vms.some((v) => v.name === n));
    for (const n of gone) st.removed[n] = { since: deps.now().toISOString(), retention: (prev?.load.ok ? prev.load.desired.vms.find((v) => v.name === n)?.retention : undefined) ?? { keepLast: 1 } };
    for (const v of desired.vms) delete st.removed[v.name];
    st.appliedVms = desired.vms.map((v) => v.name);
    st.statusPath = desired.settings.statusPath;
  }
  if (st.lastAppliedRevision) await execa('git', ['-C', dir, 'update-ref', APPLIED_REF, st.lastAppliedRevision], { reject: false });
  await saveDaemonState(deps.store, st);
}
