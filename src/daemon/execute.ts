// Executes a reconcile plan exactly as planned, through the engine and adapters. Backups run in
// plan order (priority) within the global and per-hypervisor concurrency limits; the plan is
// refused as stale if the applied revision moved on while it ran (Terraform-style).
import { newestIdFirst } from '../core/backup-layout.js';
import type { Action, ReconcilePlan } from '../core/reconcile/types.js';
import type { Bconsole } from '../adapters/bacula/bconsole.js';
import { LockedError } from '../adapters/lock.js';
import { lockVm } from '../engine/vm-lock.js';
import { prunePoint } from '../engine/prune.js';
import { backupVm } from '../engine/backup.js';
import { cleanupVm } from '../engine/cleanup.js';
import { findVm, type EngineContext } from '../engine/context.js';
import { testRestore } from '../engine/test-restore.js';
import { verifyVm } from '../engine/verify.js';
import { Gates } from './gates.js';

export interface ActionResult { action: Action; ok: boolean; detail?: string; ms: number }

export interface ExecuteOptions {
  /** Bacula mode: backups go through the director so its catalog stays true. */
  bconsole?: Bconsole;
  jobWaitMs: number;
  maxConcurrent: number;
  maxPerHost: number;
  /** The revision now in force; checked before every action. */
  currentRevision: () => string;
  /** Stop taking new actions (SIGTERM). */
  stopping: () => boolean;
  /** The daemon's shared slots (src/daemon/gates.ts), also taken by the console's ad-hoc queue;
   *  absent: this plan's own, from maxConcurrent/maxPerHost. */
  gates?: Gates;
}

export class StalePlanError extends Error {
  constructor(planned: string, now: string) { super(`plan was made for ${planned.slice(0, 12)} but ${now.slice(0, 12)} is now applied; re-planning`); this.name = 'StalePlanError'; }
}

/** Bacula mode: the backup runs as the director's job, so its catalog stays true (also for the console's ad-hoc backups). */
export async function baculaBackup(bconsole: Bconsole, vm: string, jobWaitMs: number): Promise<string> {
  const id = await bconsole.run(`backup-vm-${vm}`);
  const st = await bconsole.wait(id, jobWaitMs);
  if (st.status !== 'T') throw new Error(`Bacula job ${id} ended ${st.status} (${st.text})`);
  return `Bacula JobId ${id}: ${st.text}`;
}

async function runOne(ctx: EngineContext, a: Action, o: ExecuteOptions): Promise<string | undefined> {
  switch (a.kind) {
    case 'report':
      if (a.what === 'prune-refused') ctx.log.warn({ event: 'prune-refused', vm: a.subject, reason: a.message }, 'mass-prune guard refused prunes');
      if (a.what === 'held') ctx.log.info({ event: 'backup-held', vm: a.subject, reason: a.message }, 'backup held (paused or outside its window)');
      return a.message;
    case 'cleanup': {
      // Under the VM's lock: an overlay seen while a backup runs is that backup's, not a leftover.
      let lock;
      try { lock = await lockVm(ctx, findVm(ctx.desired, a.vm), `cleanup of ${a.vm}`); } catch (e) {
        if (e instanceof LockedError) return `skipped: ${e.message}`;
        throw e;
      }
      try {
        const r = await cleanupVm(ctx, findVm(ctx.desired, a.vm));
        if (r.problems.length) throw new Error(r.problems.join('; '));
        return r.actions.join('; ') || 'nothing to clean';
      } finally { await lock.release(); }
    }
    case 'backup': {
      if (o.bconsole) return baculaBackup(o.bconsole, a.vm, o.jobWaitMs);
      const r = await backupVm(ctx, findVm(ctx.desired, a.vm));
      if (r.status !== 'ok') throw new Error(r.error ?? 'backup failed');
      return r.backupId;
    }
    case 'prune': {
      // The shared guarded delete (engine/prune.ts): under the VM's lock, never the newest verified-good point.
      try {
        const id = await prunePoint(ctx, { name: a.vm, hypervisor: a.hypervisor }, a.id);
        ctx.log.info({ event: 'pruned', vm: a.vm, backup: id, reasons: a.reasons }, 'pruned backup');
        return `pruned ${id} (${a.reasons.join('; ')})`;
      } catch (e) {
        if (e instanceof LockedError) return `skipped: ${e.message}`;
        throw e;
      }
    }
    case 'verify': {
      const { run } = await verifyVm(ctx, findVm(ctx.desired, a.vm), { backup: a.id });
      if (run.status !== 'ok') throw new Error(run.error ?? 'verification failed');
      return `verified ${a.id}`;
    }
    case 'test-restore': {
      const { run } = await testRestore(ctx, findVm(ctx.desired, a.vm), { backupId: a.id });
      if (run.status !== 'ok') throw new Error(run.error ?? 'test restore failed');
      return `test-restored ${a.id}`;
    }
  }
}

/** The plan's order, but prunes (last anyway) newest first: an incremental before the point it builds on. */
function executionOrder(actions: readonly Action[]): Action[] {
  const prunes = actions.filter((a): a is Extract<Action, { kind: 'prune' }> => a.kind === 'prune');
  return [...actions.filter((a) => a.kind !== 'prune'), ...prunes.sort(newestIdFirst)];
}

export async function executePlan(ctx: EngineContext, plan: ReconcilePlan, o: ExecuteOptions): Promise<ActionResult[]> {
  const results: ActionResult[] = [];
  const gates = o.gates ?? new Gates(o.maxConcurrent, o.maxPerHost);
  if (o.gates) o.gates.setLimits(o.maxConcurrent, o.maxPerHost);
  const inFlight: Promise<void>[] = [];
  for (const a of executionOrder(plan.actions)) {
    if (o.stopping()) break;
    if (o.currentRevision() !== plan.revision) throw new StalePlanError(plan.revision, o.currentRevision());
    const hv = 'hypervisor' in a ? a.hypervisor : undefined;
    const release = await gates.take(hv);
    const job = (async () => {
      const t0 = performance.now();
      try {
        const detail = await runOne(ctx, a, o);
        results.push({ action: a, ok: true, ms: Math.round(performance.now() - t0), ...(detail ? { detail } : {}) });
      } catch (e) {
        results.push({ action: a, ok: false, ms: Math.round(performance.now() - t0), detail: (e as Error).message });
        ctx.log.error({ action: a.kind, vm: 'vm' in a ? a.vm : undefined, err: (e as Error).message }, 'action failed');
      } finally {
        release();
      }
    })();
    inFlight.push(job);
    // Prunes wait for every backup before them: deletion only after new restore points landed.
    if (a.kind === 'prune' || a.kind === 'cleanup') await Promise.all(inFlight);
  }
  await Promise.all(inFlight);
  return results;
}
