// One reconcile's observation and plan over a generated fleet, in a process of its own (so its
// peak RSS is its own): the daemon's gatherObserved + planReconcile, unchanged, with hosts reached
// through the counting transport (bench/fleet-transport.ts). Prints one JSON object on stdout.
//
//   node dist/bench/fleet-worker.js --repo DIR --hosts DIR --storage DIR --state DIR --now ISO [--plan-runs N]
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadPolicyRepo } from '../src/core/load.js';
import { DEFAULT_RECONCILE_OPTIONS, planReconcile } from '../src/core/reconcile/plan.js';
import type { ReconcilePlan } from '../src/core/reconcile/types.js';
import { readPolicyFilesFromDir } from '../src/adapters/policy-files.js';
import { createLogger } from '../src/adapters/logger.js';
import { BackupStore } from '../src/adapters/storage/backup-store.js';
import { StateStore } from '../src/adapters/store/state-store.js';
import { Hosts } from '../src/engine/hosts.js';
import type { EngineContext } from '../src/engine/context.js';
import { gatherObserved } from '../src/daemon/observe.js';
import { CommandLog, CountingTransport } from './fleet-transport.js';

export interface PassResult {
  observeMs: number;
  /** When the last host's last command ended, from the start of the observation. */
  hostsDoneMs: number;
  planMs: number;
  commands: number;
  perHost: { min: number; max: number; histogram: Record<string, number> };
  byCommand: Record<string, number>;
  failedCommands: number;
  /** The first few failures, as the transport reported them. */
  failures: string[];
  /** Hosts the observation marked unreachable or in error (their VMs would be Unknown). */
  hostsInError: number;
  stdoutBytes: number;
  maxStdoutBytesPerHost: number;
  /** Remote commands in flight at once, at most. */
  maxConcurrent: number;
  actions: Record<string, number>;
  reachableHosts: number;
  observedDomains: number;
  storageVms: number;
  storagePoints: number;
}

export interface WorkerResult { vms: number; hypervisors: number; loadMs: number; passes: PassResult[]; planRunsMs: number[] }

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new Error(`fleet-worker: ${name} is required`);
  return v;
}

function countActions(plan: ReconcilePlan): Record<string, number> {
  const o: Record<string, number> = { total: plan.actions.length };
  for (const a of plan.actions) { const k = a.kind === 'report' ? `report:${a.what}` : a.kind; o[k] = (o[k] ?? 0) + 1; }
  return o;
}

function maxConcurrent(log: CommandLog): number {
  const ev = log.records.flatMap((r) => [[r.startMs, 1], [r.endMs, -1]] as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) { cur += d; max = Math.max(max, cur); }
  return max;
}

async function main(): Promise<void> {
  const [repo, hostsDir, storage, stateDir, now] = [arg('--repo'), arg('--hosts'), arg('--storage'), arg('--state'), arg('--now')];
  const pr = process.argv.indexOf('--plan-runs');
  const planRuns = pr >= 0 ? Math.max(1, Number(process.argv[pr + 1]) || 1) : 5;
  const t0 = performance.now();
  const load = loadPolicyRepo(await readPolicyFilesFromDir(repo));
  if (!load.ok) throw new Error(`the generated repo does not load: ${load.diagnostics.filter((d) => d.severity === 'error').slice(0, 3).map((d) => d.message).join('; ')}`);
  const desired = load.desired;
  const loadMs = performance.now() - t0;
  const cmdLog = new CommandLog();
  const hosts = new Hosts(desired, (hv) => new CountingTransport(hv.name, join(hostsDir, hv.name), cmdLog));
  const store = await StateStore.open(stateDir);
  const ctx: EngineContext = {
    desired, revision: 'bench', hosts, storage: new BackupStore(storage), store, stateDir,
    log: createLogger({ level: 'silent', destination: process.stderr }), now: () => new Date(now), notifier: { notify: async () => undefined },
  };
  const opts = { ...DEFAULT_RECONCILE_OPTIONS, allowMassPrune: desired.settings.allowMassPrune, maxPruneShare: desired.settings.maxPruneShare, removedGraceDays: desired.settings.removedVmGraceDays };
  const passes: PassResult[] = [];
  let plan: ReconcilePlan | undefined;
  let observed: Awaited<ReturnType<typeof gatherObserved>> | undefined;
  // A daemon cycle observes twice: before the plan, and after executing it (for the status files).
  for (let p = 0; p < 2; p++) {
    cmdLog.reset();
    const o0 = performance.now();
    const s0 = cmdLog.now();
    observed = await gatherObserved(ctx, desired, {}, store);
    const observeMs = performance.now() - o0;
    const p0 = performance.now();
    plan = planReconcile(desired, 'bench', observed, now, opts);
    const planMs = performance.now() - p0;
    const per = [...cmdLog.perHost().values()];
    const histogram: Record<string, number> = {};
    for (const n of per) histogram[String(n)] = (histogram[String(n)] ?? 0) + 1;
    const bytesPerHost = new Map<string, number>();
    for (const r of cmdLog.records) bytesPerHost.set(r.host, (bytesPerHost.get(r.host) ?? 0) + r.stdoutBytes);
    const hostVals = Object.values(observed.hosts);
    passes.push({
      observeMs, hostsDoneMs: Math.max(0, ...cmdLog.records.map((r) => r.endMs - s0)), planMs, commands: cmdLog.records.length,
      perHost: { min: Math.min(...per), max: Math.max(...per), histogram }, byCommand: cmdLog.byWhat(), failedCommands: cmdLog.records.filter((r) => !r.ok).length,
      failures: cmdLog.records.filter((r) => !r.ok).slice(0, 3).map((r) => `${r.host}: ${r.what} after ${(r.endMs - r.startMs).toFixed(0)} ms: ${r.error ?? ''}`),
      hostsInError: hostVals.filter((h) => !h.reachable).length,
      stdoutBytes: cmdLog.records.reduce((n, r) => n + r.stdoutBytes, 0), maxStdoutBytesPerHost: Math.max(0, ...bytesPerHost.values()), maxConcurrent: maxConcurrent(cmdLog),
      actions: countActions(plan), reachableHosts: hostVals.filter((h) => h.reachable).length, observedDomains: hostVals.reduce((n, h) => n + Object.keys(h.domains).length, 0),
      storageVms: Object.keys(observed.storage).length, storagePoints: Object.values(observed.storage).reduce((n, s) => n + s.points.length, 0),
    });
  }
  // The plan alone, again: it is pure, so repeated runs on the same input time only the core.
  const planRunsMs: number[] = [];
  for (let i = 0; i < planRuns; i++) {
    const p0 = performance.now();
    planReconcile(desired, 'bench', observed!, now, opts);
    planRunsMs.push(performance.now() - p0);
  }
  await hosts.closeAll();
  const result: WorkerResult = { vms: desired.vms.length, hypervisors: desired.hypervisors.length, loadMs, passes, planRunsMs };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`fleet-worker: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
