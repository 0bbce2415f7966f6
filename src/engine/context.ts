// Everything an engine operation needs, passed in (no module singletons): the desired state,
// hosts, storage, state store, locks, logger, clock and notifier.
import type { Logger } from 'pino';
import type { DesiredState, Vm } from '../core/model.js';
import type { BackupStore } from '../adapters/storage/backup-store.js';
import type { StateStore, RunRecord, RunStep } from '../adapters/store/state-store.js';
import type { Hosts } from './hosts.js';

import type { Notifier } from '../ports/notifier.js';
export type { Notifier } from '../ports/notifier.js';


export interface EngineContext {
  desired: DesiredState;
  revision?: string;
  hosts: Hosts;
  storage: BackupStore;
  store: StateStore;
  stateDir: string;
  log: Logger;
  now: () => Date;
  notifier: Notifier;
  /** Show progress of long copies (stderr is a TTY). */
  progress?: (line: string) => void;
  /** Live phases for the console: each step's name as it starts (step() below). */
  onStep?: (name: string) => void;
  /** Live progress for the console: bytes a long copy has written so far, against the disk's size. */
  onCopy?: (label: string, writtenBytes: number, totalBytes?: number) => void;
}

export function findVm(d: DesiredState, name: string): Vm {
  const vm = d.vms.find((v) => v.name === name);
  if (!vm) throw new Error(`VM ${name} is not in the policy repo`);
  return vm;
}

/** Runs one named step, logging it and recording its outcome and duration on the run. */
export async function step<T>(ctx: EngineContext, run: RunRecord, name: string, fn: () => Promise<T>, log: Logger = ctx.log): Promise<T> {
  const t0 = performance.now();
  log.debug({ step: name }, 'step start');
  try { ctx.onStep?.(name); } catch { /* a watcher never breaks a run */ }
  try {
    const r = await fn();
    const s: RunStep = { name, ok: true, ms: Math.round(performance.now() - t0) };
    run.steps.push(s);
    log.info({ step: name, ms: s.ms }, 'step done');
    return r;
  } catch (e) {
    const s: RunStep = { name, ok: false, ms: Math.round(performance.now() - t0), detail: (e as Error).message };
    run.steps.push(s);
    log.error({ step: name, ms: s.ms, err: (e as Error).message }, 'step failed');
    throw e;
  }
}

/** Runs `body`, records ok/failed with the error, saves the run and releases the lock, whatever happens. */
export async function recordRun(ctx: EngineContext, run: RunRecord, lock: { release(): Promise<void> }, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    run.status = 'ok';
  } catch (e) {
    run.status = 'failed';
    run.error = (e as Error).message;
  } finally {
    run.finished = ctx.now().toISOString();
    await ctx.store.saveRun(run);
    await lock.release();
  }
}

export function newRun(ctx: EngineContext, kind: RunRecord['kind'], vm: Vm): RunRecord {
  const started = ctx.now().toISOString();
  return { id: `${kind}-${vm.name}-${started.replace(/[-:.TZ]/g, '')}-${process.pid}`, kind, vm: vm.name, hypervisor: vm.hypervisor, started, status: 'running', warnings: [], pid: process.pid, steps: [], ...(ctx.revision ? { revision: ctx.revision } : {}) };
}
