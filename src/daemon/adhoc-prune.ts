// The console's prune: the VM's retention run now, exactly as `vmbackup prune <vm>` does it
// (engine/prune.ts: the daemon's planner, the mass-prune guard, the guarded delete under the
// VM's lock, never the newest verified point). Nothing is deleted by naming a point.
import { LockedError } from '../adapters/lock.js';
import type { Vm } from '../core/model.js';
import type { EngineContext } from '../engine/context.js';
import { applyPrune, planPrune, type VmPrunePlan, type VmPruneResult } from '../engine/prune.js';
import { lockVm } from '../engine/vm-lock.js';
import type { PrunePreview } from '../ports/console.js';
import { readDaemonState } from './daemon-state.js';

/** The VM is locked by another job (the daemon's plan, the CLI, another installation): wait and retry. */
export class VmBusyError extends Error {
  constructor(readonly holder: string) { super(`busy: ${holder}`); this.name = 'VmBusyError'; }
}

/** `what (pid N on host, since T)`: who holds a lock, for "waiting for …". */
export const holderText = (e: LockedError): string => `${e.holder.what} (pid ${e.holder.pid} on ${e.holder.host}, since ${e.holder.since})`;

const why = (p: { id: string; reasons: string[] }): string => `${p.id} (${p.reasons.join('; ') || 'retention'})`;

/** One line for the action's detail (or a dry run's, given a plan): what was (would be) pruned and why, or nothing to prune, or REFUSED: …. */
export function pruneDetail(r: VmPrunePlan | VmPruneResult | undefined, points = 0): { ok: boolean; detail: string } {
  if (!r) return { ok: true, detail: `nothing to prune (${points} restore points on storage)` };
  const status = 'status' in r ? r.status : undefined;
  if (r.held) return { ok: true, detail: `nothing pruned: kept, ${r.held}` };
  if (r.refused && r.prune.length) return { ok: false, detail: `REFUSED: ${r.refused}; retention would prune ${r.prune.map(why).join(', ')}` };
  if (status === 'failed') return { ok: false, detail: `prune failed: ${(r as VmPruneResult).error ?? 'unknown error'}` };
  if (!status && r.prune.length) return { ok: true, detail: `would prune ${r.prune.length} of ${r.points}: ${r.prune.map(why).join(', ')}` };
  const pruned = status ? (r as VmPruneResult).pruned : [];
  if (!pruned.length) return { ok: true, detail: `nothing to prune (${r.points} restore point${r.points === 1 ? '' : 's'}, all kept by retention)` };
  const kept = r.prune.filter((p) => !pruned.includes(p.id)).map((p) => p.id);
  return { ok: true, detail: `pruned ${pruned.length} of ${r.points}: ${r.prune.filter((p) => pruned.includes(p.id)).map(why).join(', ')}${kept.length ? `; kept ${kept.join(', ')} (storage changed since the plan)` : ''}` };
}

/** Runs `vm`'s retention now; throws VmBusyError while its lock is held elsewhere. */
export async function pruneByRetention(ctx: EngineContext, vm: Vm): Promise<{ ok: boolean; detail: string; pruned: string[] }> {
  // Busy first (nothing planned or deleted while another job holds the VM).
  try { await (await lockVm(ctx, vm, `prune of ${vm.name} (checking the lock)`)).release(); } catch (e) {
    if (e instanceof LockedError) throw new VmBusyError(holderText(e));
    throw e;
  }
  const removed = readDaemonState(ctx.store).removed;
  const plan = await planPrune(ctx, { only: [vm.name], removed });
  const v = plan.vms.find((x) => x.vm === vm.name);
  if (!v) return { ...pruneDetail(undefined), pruned: [] };
  const [r] = await applyPrune(ctx, { ...plan, vms: [v] }, { removed });
  if (r?.status === 'busy') throw new VmBusyError(r.error ?? 'another job');
  return { ...pruneDetail(r), pruned: r?.pruned ?? [] };
}

/** What the VM's retention would prune now (a dry run: nothing is locked or deleted). */
export async function previewPrune(ctx: EngineContext, vm: Vm): Promise<PrunePreview> {
  const plan = await planPrune(ctx, { only: [vm.name], removed: readDaemonState(ctx.store).removed });
  const v = plan.vms.find((x) => x.vm === vm.name);
  return {
    vm: vm.name, dry_run: true, points: v?.points ?? 0, prune: v?.prune ?? [],
    ...(v?.refused && v.prune.length ? { refused: v.refused } : {}), ...(v?.held ? { held: v.held } : {}), detail: pruneDetail(v).detail,
  };
}
