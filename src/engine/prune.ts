// Applying retention, for the daemon and for `vmbackup prune` alike: the plan is the daemon's own
// pure planReconcile (same safety rules, same mass-prune guard), and every deletion goes through
// one guarded delete that holds the VM's lock, re-plans from storage as it is now, and refuses
// the newest verified-good point (adapters/storage/prune.ts re-checks that once more).
import { newestIdFirst } from '../core/backup-layout.js';
import { DEFAULT_RECONCILE_OPTIONS, planReconcile } from '../core/reconcile/plan.js';
import type { Observed, ReconcileOptions, ReconcilePlan } from '../core/reconcile/types.js';
import type { Settings } from '../core/model.js';
import { LockedError } from '../adapters/lock.js';
import { pruneBackup } from '../adapters/storage/prune.js';
import type { EngineContext } from './context.js';
import { observeStorage } from './observe-storage.js';
import { lockVm } from './vm-lock.js';

/** The guard and grace settings of the policy in force, as the reconcile plan takes them. */
export function pruneOptionsOf(s: Pick<Settings, 'allowMassPrune' | 'maxPruneShare' | 'removedVmGraceDays'>): ReconcileOptions {
  return { ...DEFAULT_RECONCILE_OPTIONS, allowMassPrune: s.allowMassPrune, maxPruneShare: s.maxPruneShare, removedGraceDays: s.removedVmGraceDays };
}

export interface VmPrunePlan {
  vm: string;
  hypervisor: string;
  points: number;
  /** What retention would delete (shown even when the guard refuses it). */
  prune: { id: string; reasons: string[] }[];
  /** The mass-prune guard refused this VM's (or the whole pass's) prunes: nothing of it is deleted. */
  refused?: string;
  /** Kept whole for another reason (a VM that left the repo, within its grace period). */
  held?: string;
}

export interface PrunePlan { now: string; vms: VmPrunePlan[]; fleetRefused?: string }

export interface PruneSelection { only?: readonly string[]; removed?: Observed['removed'] }

/** Observe storage and plan with the daemon's planner: once as the guard allows, once without the guard (the candidates). */
export async function planPrune(ctx: EngineContext, sel: PruneSelection = {}): Promise<PrunePlan> {
  const now = ctx.now().toISOString();
  const hvOf = (vm: string): string | undefined => ctx.desired.vms.find((v) => v.name === vm)?.hypervisor;
  const storage = await observeStorage(ctx.storage, hvOf, sel.only ? new Set(sel.only) : undefined);
  const observed: Observed = { at: now, hosts: {}, storage, runs: {}, removed: sel.removed ?? {} };
  const opts = pruneOptionsOf(ctx.desired.settings);
  const guarded = planReconcile(ctx.desired, ctx.revision ?? '', observed, now, opts);
  const candidates = planReconcile(ctx.desired, ctx.revision ?? '', observed, now, { ...opts, allowMassPrune: true });
  return prunePlanOf(guarded, candidates, observed, now);
}

/** Pure: the prune view of two reconcile plans over the same observation. */
export function prunePlanOf(guarded: ReconcilePlan, candidates: ReconcilePlan, observed: Observed, now: string): PrunePlan {
  const vms: VmPrunePlan[] = Object.keys(observed.storage).sort().map((vm) => ({ vm, hypervisor: observed.storage[vm]!.hypervisor, points: observed.storage[vm]!.points.length, prune: [] }));
  const byVm = new Map(vms.map((v) => [v.vm, v]));
  for (const a of candidates.actions) if (a.kind === 'prune') byVm.get(a.vm)?.prune.push({ id: a.id, reasons: a.reasons });
  let fleetRefused: string | undefined;
  for (const a of guarded.actions) {
    if (a.kind !== 'report') continue;
    if (a.what === 'prune-refused' && a.subject === '(fleet)') fleetRefused = a.message;
    else if (a.what === 'prune-refused') { const v = byVm.get(a.subject); if (v) v.refused = a.message; }
    else if (a.what === 'removed-grace') { const v = byVm.get(a.subject); if (v) v.held = a.message; }
  }
  const allowed = new Set(guarded.actions.flatMap((a) => (a.kind === 'prune' ? [`${a.vm}/${a.id}`] : [])));
  for (const v of vms) {
    v.prune.sort((x, y) => x.id.localeCompare(y.id));
    if (!v.refused && fleetRefused && v.prune.length) v.refused = fleetRefused;
    if (!v.refused && v.prune.some((p) => !allowed.has(`${v.vm}/${p.id}`))) v.refused = 'the mass-prune guard refused this pass';
  }
  return { now, vms, ...(fleetRefused ? { fleetRefused } : {}) };
}

export interface VmPruneResult extends VmPrunePlan { status: 'pruned' | 'nothing' | 'refused' | 'held' | 'busy' | 'failed'; pruned: string[]; error?: string }

/**
 * Deletes what a plan says, VM by VM, each under its lock: storage is read again under the lock
 * and only points the fresh plan still prunes are deleted. A busy VM is skipped, not waited for.
 */
export async function applyPrune(ctx: EngineContext, plan: PrunePlan, sel: PruneSelection = {}): Promise<VmPruneResult[]> {
  const out: VmPruneResult[] = [];
  for (const v of plan.vms) {
    const r: VmPruneResult = { ...v, status: 'nothing', pruned: [] };
    out.push(r);
    if (v.refused) { r.status = 'refused'; continue; }
    if (v.held) { r.status = 'held'; continue; }
    if (!v.prune.length) continue;
    let lock;
    try { lock = await lockVm(ctx, { name: v.vm, hypervisor: v.hypervisor }, `prune of ${v.vm}`); } catch (e) {
      if (!(e instanceof LockedError)) throw e;
      r.status = 'busy'; r.error = e.message; continue;
    }
    try {
      const fresh = (await planPrune(ctx, { only: [v.vm], ...(sel.removed ? { removed: sel.removed } : {}) })).vms.find((x) => x.vm === v.vm);
      if (fresh?.refused) { r.status = 'refused'; r.refused = fresh.refused; continue; }
      const still = new Set((fresh?.prune ?? []).map((p) => p.id));
      for (const p of [...v.prune].sort(newestIdFirst)) { // newest first: children before their parent
        if (!still.has(p.id)) continue; // storage changed since the plan: keep it
        await pruneBackup(ctx.storage, v.vm, p.id);
        r.pruned.push(p.id);
      }
      r.pruned.sort(); // reported oldest first, as planned
      r.status = r.pruned.length ? 'pruned' : 'nothing';
    } catch (e) {
      r.status = 'failed'; r.error = (e as Error).message;
    } finally { await lock.release(); }
  }
  return out;
}

/** The daemon's prune action: one point, under the VM's lock, through the guarded delete. */
export async function prunePoint(ctx: EngineContext, vm: { name: string; hypervisor: string }, id: string): Promise<string> {
  const lock = await lockVm(ctx, vm, `prune of ${vm.name}/${id}`);
  try { return await pruneBackup(ctx.storage, vm.name, id); } finally { await lock.release(); }
}
