// The work behind `backup`, `check` and `cleanup` (loaded only when one of them runs).
import { join } from 'node:path';
import { scheduledHere } from '../core/hypervisor-mode/on-hypervisor.js';
import { scheduleSlug } from '../core/schedule.js';
import { enabledVmsInOrder } from '../core/render-view.js';
import { acquireLock } from '../adapters/lock.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import { EXIT } from './exit-codes.js';
import type { EngineCliOptions } from './options.js';
import { backupVm } from '../engine/backup.js';
import { cleanupVm } from '../engine/cleanup.js';
import { findVm, newRun, type EngineContext } from '../engine/context.js';
import type { Vm } from '../core/model.js';
import { observeForBackup } from '../engine/observe-vm.js';
import { lockVm } from '../engine/vm-lock.js';
import { printResult, withEngine } from './with-engine.js';
import { activePause, type Pause } from '../core/pause/pause.js';
import { backupHold, type Hold } from '../core/schedule/hold.js';
import { readPauses } from '../adapters/store/pauses.js';
import { readPublishedPauses } from '../adapters/agent/publish-pauses.js';
import { actingSourceIn } from './acting-policy.js';

function runText(r: RunRecord): string {
  const head = `${r.kind} ${r.vm} on ${r.hypervisor}: ${r.status}${r.backupId ? ` (${r.backupId})` : ''}`;
  const lines = [head, ...r.warnings.map((w) => `  warning: ${w}`), ...(r.error ? [`  error: ${r.error}`] : [])];
  return lines.join('\n');
}

/**
 * The pauses that hold this run: the state store's, and where this is a `runs_on: hypervisor` host
 * acting on the published revision, the control host's too (its pauses.json here; for a VM in
 * both, the later end holds). A malformed published file is ignored with a warning.
 */
async function pausesNow(ctx: EngineContext): Promise<Record<string, Pause>> {
  const local = await readPauses(ctx.store);
  if ((await actingSourceIn(ctx.stateDir, ctx.store)) !== 'published') return local;
  const published = await readPublishedPauses(ctx.stateDir);
  if (published.warning) ctx.log.warn({ event: 'published-pauses-ignored' }, published.warning);
  const all = { ...local };
  for (const [vm, p] of Object.entries(published.pauses)) if (!all[vm] || Date.parse(p.until) > Date.parse(all[vm].until)) all[vm] = p;
  return all;
}

/** The hold on each VM's scheduled backup now (a pause in force, outside its window, in a blackout); pauses read once. */
async function holdsNow(ctx: EngineContext): Promise<(vm: Vm) => Hold | undefined> {
  const pauses = await pausesNow(ctx);
  const now = ctx.now().toISOString();
  return (vm) => backupHold({ pause: activePause(pauses, vm.name, now), rules: vm.window, now, timeZone: ctx.desired.settings.timeZone });
}

/** A scheduled run of a held VM: no backup, exit 0, said on stdout and in the log. */
function skipped(ctx: EngineContext, vm: Vm, hold: Hold): { kind: 'backup'; vm: string; hypervisor: string; status: 'skipped'; reason: string; until?: string } {
  ctx.log.info({ event: 'backup-skipped', vm: vm.name, held: hold.kind, ...(hold.until ? { until: hold.until } : {}) }, `skipped: ${hold.text}`);
  return { kind: 'backup', vm: vm.name, hypervisor: vm.hypervisor, status: 'skipped', reason: hold.text, ...(hold.until ? { until: hold.until } : {}) };
}
const skippedText = (s: ReturnType<typeof skipped>): string => `backup ${s.vm} on ${s.hypervisor}: skipped: ${s.reason}`;

export async function backupAction(vmName: string | undefined, opts: EngineCliOptions & { schedule?: string; baculaJobId?: string }): Promise<void> {
  if (!vmName && !opts.schedule) throw new Error('name a VM, or give --schedule');
  await withEngine(opts, async (ctx) => {
    const holdOf = await holdsNow(ctx);
    if (vmName) {
      const vm = findVm(ctx.desired, vmName);
      const hold = holdOf(vm);
      // A Bacula job is a scheduled run: a paused VM, or one outside its window, is skipped (exit 0; notify knows).
      if (hold && opts.baculaJobId) {
        const s = skipped(ctx, vm, hold);
        printResult(opts, s, skippedText(s));
        return EXIT.OK;
      }
      if (hold) process.stderr.write(`vmbackup: warning: ${vm.name} is held (${hold.text}); a manual backup runs anyway\n`);
      const r = await backupVm(ctx, vm, opts.baculaJobId ? { baculaJobId: opts.baculaJobId } : {});
      printResult(opts, r, runText(r));
      return r.status === 'ok' ? EXIT.OK : EXIT.ERROR;
    }
    // cron mode: one schedule's VMs, one at a time in priority order; schedules firing together queue here.
    const here = scheduledHere(ctx.desired, opts.onHypervisor);
    const vms = enabledVmsInOrder(ctx.desired).filter((v) => scheduleSlug(v.schedule) === opts.schedule && here(v));
    const gate = await waitForLock(join(ctx.stateDir, 'locks'), 'schedule-runner', `schedule ${opts.schedule}`, ctx.desired.settings.backup.copyTimeoutHours * 3_600_000);
    const results: (RunRecord | ReturnType<typeof skipped>)[] = [];
    try {
      // Held VMs are judged when their turn comes (a long queue may reach a window's end).
      for (const vm of vms) {
        const hold = (await holdsNow(ctx))(vm);
        results.push(hold ? skipped(ctx, vm, hold) : await backupVm(ctx, vm));
      }
    } finally {
      await gate.release();
    }
    printResult(opts, results, results.map((r) => (r.status === 'skipped' ? skippedText(r) : runText(r))).join('\n') || `no enabled VM has schedule ${opts.schedule}`);
    return results.every((r) => r.status === 'ok' || r.status === 'skipped') ? EXIT.OK : EXIT.ERROR;
  });
}

async function waitForLock(dir: string, name: string, what: string, maxMs: number): ReturnType<typeof acquireLock> {
  const until = Date.now() + maxMs;
  for (;;) {
    try { return await acquireLock(dir, name, what); } catch (e) {
      if (Date.now() > until || !(e instanceof Error) || e.name !== 'LockedError') throw e;
      await new Promise((r) => setTimeout(r, 10_000));
    }
  }
}

export async function checkAction(vmName: string, opts: EngineCliOptions): Promise<void> {
  await withEngine(opts, async (ctx) => {
    const vm = findVm(ctx.desired, vmName);
    const o = await observeForBackup(ctx, ctx.hosts.get(vm.hypervisor), vm);
    const text = [`pre-checks for ${vm.name} on ${vm.hypervisor}: ${o.result.ok ? 'pass' : 'FAIL'}`, ...o.result.failures.map((f) => `  fail: ${f}`), ...o.result.warnings.map((w) => `  warning: ${w}`)].join('\n');
    printResult(opts, { vm: vm.name, ...o.result, disks: o.disks }, text);
    return o.result.ok ? EXIT.OK : EXIT.ERROR;
  });
}

export async function cleanupAction(vmName: string, opts: EngineCliOptions): Promise<void> {
  await withEngine(opts, async (ctx) => {
    const vm = findVm(ctx.desired, vmName);
    const lock = await lockVm(ctx, vm, `cleanup of ${vm.name}`);
    try {
      const r = await cleanupVm(ctx, vm);
      const text = [`cleanup of ${vm.name}: ${r.problems.length ? 'problems remain' : r.actions.length ? 'cleaned' : 'nothing to do'}`, ...r.actions.map((a) => `  done: ${a}`), ...r.problems.map((p) => `  problem: ${p}`)].join('\n');
      printResult(opts, r, text);
      return r.problems.length ? EXIT.ERROR : EXIT.OK;
    } finally {
      await lock.release();
    }
  });
}

/** Bacula's After RunScript: a failed job whose failure vmbackup did not record itself (e.g. a pre-check) is alerted here. */
export async function notifyAction(vmName: string, opts: EngineCliOptions & { jobId: string; jobStatus: string }): Promise<void> {
  await withEngine(opts, async (ctx) => {
    const vm = findVm(ctx.desired, vmName);
    const ok = /^(OK|Success)/i.test(opts.jobStatus);
    // A held VM's job was skipped by `backup` (or failed its `check`, e.g. a VM shut down for the maintenance it is paused for): no alert.
    const hold = (await holdsNow(ctx))(vm);
    if (ctx.desired.hypervisors.find((h) => h.name === vm.hypervisor)?.runsOn === 'hypervisor') return hypervisorJob(ctx, vm, opts, ok, hold);
    const last = (await ctx.store.runs({ vm: vm.name, kind: 'backup' })).at(-1);
    const alreadyReported = last !== undefined && last.status === 'failed' && Date.now() - Date.parse(last.started) < 24 * 3_600_000;
    if (!ok && !alreadyReported && hold) {
      printResult(opts, { vm: vm.name, jobId: opts.jobId, jobStatus: opts.jobStatus, notified: false, held: hold.text }, `bacula job ${opts.jobId} for ${vm.name}: ${opts.jobStatus} (not alerted: held, ${hold.text})`);
      return EXIT.OK;
    }
    if (!ok && !alreadyReported) {
      const run = { ...newRun(ctx, 'backup', vm), status: 'failed' as const, error: `Bacula job ${opts.jobId} ended "${opts.jobStatus}" before vmbackup recorded a result (see the job log)`, finished: ctx.now().toISOString() };
      await ctx.store.saveRun(run);
      await ctx.notifier.notify({ kind: 'failure', run });
    }
    printResult(opts, { vm: vm.name, jobId: opts.jobId, jobStatus: opts.jobStatus, notified: !ok && !alreadyReported }, `bacula job ${opts.jobId} for ${vm.name}: ${opts.jobStatus}${!ok && !alreadyReported ? ' (alert sent)' : ''}`);
    return EXIT.OK;
  });
}

/**
 * A job that ran on the VM's own hypervisor (runs_on: hypervisor): its run history lives there, so
 * the control host records the result here from Bacula's status and the manifest on the shared
 * storage that carries this JobId, and alerts (or announces a recovery) as for a local run.
 */
async function hypervisorJob(ctx: EngineContext, vm: Vm, opts: EngineCliOptions & { jobId: string; jobStatus: string }, ok: boolean, hold: Hold | undefined): Promise<number> {
  const point = ok ? (await ctx.storage.list(vm.hypervisor, vm.name)).find((b) => b.manifest?.bacula_job_id === opts.jobId && !b.corrupt) : undefined;
  // The hypervisor's `backup` skipped a VM outside its window: no restore point, nothing to record, no alert.
  if (!point && hold) {
    printResult(opts, { vm: vm.name, jobId: opts.jobId, jobStatus: opts.jobStatus, hypervisor: vm.hypervisor, run: 'skipped', held: hold.text }, `bacula job ${opts.jobId} for ${vm.name} on ${vm.hypervisor}: ${opts.jobStatus} (no restore point: held, ${hold.text}; not alerted)`);
    return EXIT.OK;
  }
  const base = { ...newRun(ctx, 'backup', vm), finished: ctx.now().toISOString(), steps: [] };
  const run: RunRecord = point?.manifest
    ? { ...base, status: 'ok', backupId: point.id, sizeBytes: point.manifest.total_size_bytes, started: point.manifest.started, finished: point.manifest.finished }
    : { ...base, status: 'failed', error: ok
      ? `Bacula job ${opts.jobId} on ${vm.hypervisor}-fd ended "${opts.jobStatus}", but no published restore point of ${vm.name} records that JobId`
      : `Bacula job ${opts.jobId} on ${vm.hypervisor}-fd ended "${opts.jobStatus}" (see the job log on the director)` };
  await ctx.store.saveRun(run);
  await ctx.notifier.notify({ kind: run.status === 'ok' ? 'success' : 'failure', run });
  printResult(opts, { vm: vm.name, jobId: opts.jobId, jobStatus: opts.jobStatus, hypervisor: vm.hypervisor, run: run.status, ...(run.backupId ? { backupId: run.backupId } : {}) }, `bacula job ${opts.jobId} for ${vm.name} on ${vm.hypervisor}: ${opts.jobStatus}${run.backupId ? ` (restore point ${run.backupId})` : ''}${run.status === 'failed' ? ' (alert sent)' : ''}`);
  return run.status === 'ok' ? EXIT.OK : EXIT.ERROR;
}
