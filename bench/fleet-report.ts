// Figures of bench/reconcile-fleet.ts: medians over runs per fleet size, the O(hypervisors)
// verdict (commands per host the same at every size), and the text report.
import { cpus } from 'node:os';
import type { StorageSummary } from './fleet-storage.js';
import type { WorkerResult } from './fleet-worker.js';

export interface ScaleRun { scale: number; wallMs: number; maxRssKiB: number; cpuMs: number; result: WorkerResult }

export interface Row {
  scale: number; vms: number; hypervisors: number; vmsPerHost: number; storedVms: number; storedPoints: number; runs: number;
  commands: number; perHostMin: number; perHostMax: number; perHostHistogram: Record<string, number>; commandsPerCycle: number; byCommand: Record<string, number>;
  maxStdoutBytesPerHost: number; stdoutBytes: number; maxConcurrent: number;
  /** Over every run and both passes: commands that failed (timed out) and hosts left in error. */
  failedCommands: number; hostsInError: number; failures: string[];
  observeMs: number; observeMinMs: number; observeMaxMs: number; observeAfterMs: number; hostsDoneMs: number;
  planMs: number; planRepeatMs: number; planRepeatMinMs: number; loadMs: number;
  wallMs: number; wallMinMs: number; cpuMs: number; peakRssMiB: number; actions: Record<string, number>;
}

export interface Verdict { pass: boolean; perHost: number[]; message: string }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length ? (s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2) : NaN;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

export function summarise(scale: number, vms: number, hypervisors: number, stored: StorageSummary, runs: ScaleRun[]): Row {
  const p1 = runs.map((r) => r.result.passes[0]!);
  const p2 = runs.map((r) => r.result.passes[1]!);
  const first = p1[0]!;
  return {
    scale, vms, hypervisors, vmsPerHost: vms / hypervisors, storedVms: stored.vms, storedPoints: stored.points, runs: runs.length,
    commands: first.commands, perHostMin: Math.min(...p1.map((p) => p.perHost.min)), perHostMax: Math.max(...p1.map((p) => p.perHost.max)), perHostHistogram: first.perHost.histogram,
    commandsPerCycle: first.commands + p2[0]!.commands, byCommand: first.byCommand, maxStdoutBytesPerHost: first.maxStdoutBytesPerHost, stdoutBytes: first.stdoutBytes,
    maxConcurrent: Math.max(...p1.map((p) => p.maxConcurrent)),
    failedCommands: [...p1, ...p2].reduce((n, p) => n + p.failedCommands, 0), hostsInError: [...p1, ...p2].reduce((n, p) => n + p.hostsInError, 0),
    failures: [...p1, ...p2].flatMap((p) => p.failures).slice(0, 3),
    observeMs: r1(median(p1.map((p) => p.observeMs))), observeMinMs: r1(Math.min(...p1.map((p) => p.observeMs))), observeMaxMs: r1(Math.max(...p1.map((p) => p.observeMs))),
    observeAfterMs: r1(median(p2.map((p) => p.observeMs))), hostsDoneMs: r1(median(p1.map((p) => p.hostsDoneMs))),
    planMs: r1(median(p1.map((p) => p.planMs))), planRepeatMs: r1(median(runs.flatMap((r) => r.result.planRunsMs))), planRepeatMinMs: r1(Math.min(...runs.flatMap((r) => r.result.planRunsMs))),
    loadMs: r1(median(runs.map((r) => r.result.loadMs))), wallMs: r1(median(runs.map((r) => r.wallMs))), wallMinMs: r1(Math.min(...runs.map((r) => r.wallMs))),
    cpuMs: r1(median(runs.map((r) => r.cpuMs))), peakRssMiB: r1(Math.max(...runs.map((r) => r.maxRssKiB)) / 1024), actions: first.actions,
  };
}

/** O(hypervisors): every host gets the same number of commands, at every fleet size, and the total is that × hosts. */
export function checkScales(rows: readonly Row[]): Verdict {
  const perHost = rows.map((r) => r.perHostMax);
  const uniform = rows.every((r) => r.perHostMin === r.perHostMax && r.commands === r.perHostMax * r.hypervisors);
  const same = perHost.every((n) => n === perHost[0]);
  const pass = uniform && same;
  const message = pass
    ? `PASS: ${perHost[0]} remote commands per hypervisor per observation at ${rows.map((r) => `${r.vmsPerHost} VMs/host`).join(' and ')} (total = ${perHost[0]} x hypervisors)`
    : `FAIL: commands per hypervisor ${rows.map((r) => `${r.perHostMin}-${r.perHostMax} at ${r.vmsPerHost} VMs/host`).join(', ')}`;
  return { pass, perHost, message };
}

function table(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ') + ' |';
  return [line(head), '|' + w.map((x, i) => (i === 0 ? ':' + '-'.repeat(x + 1) : '-'.repeat(x + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

export function printReport(rows: readonly Row[], v: Verdict, o: { load0: number[]; load1: number[]; runs: number; planRuns: number; kept?: string }): void {
  const w = (s: string): void => { process.stdout.write(s); };
  const r0 = rows[0]!;
  w(`\nvmbackup reconcile-fleet benchmark: ${r0.hypervisors} hypervisors, ${rows.map((r) => `${r.vms} VMs`).join(' / ')}; node ${process.version}; median of ${o.runs} run(s)\n\n`);
  w('Remote commands of one observation (the daemon observes twice per cycle: before the plan and after executing it):\n\n');
  w(table(['VMs', 'VMs/host', 'commands', 'per host', 'per cycle', 'max stdout/host', 'in flight', 'failed (all runs)'], rows.map((r) => [
    String(r.vms), String(r.vmsPerHost), String(r.commands), r.perHostMin === r.perHostMax ? String(r.perHostMin) : `${r.perHostMin}-${r.perHostMax}`,
    String(r.commandsPerCycle), `${(r.maxStdoutBytesPerHost / 1024).toFixed(0)} KiB`, String(r.maxConcurrent), `${r.failedCommands} (${r.hostsInError} hosts in error)`,
  ])) + '\n\n');
  for (const r of rows) if (r.failures.length) w(`failures at ${r.vms} VMs, e.g.: ${r.failures.join(' || ')}\n`);
  w(`by command: ${rows.map((r) => `${r.vms} VMs ${JSON.stringify(r.byCommand)}`).join('; ')}\n`);
  w(`${v.message}\n\n`);
  w('Time (ms) and memory of the reconcile process (observe = gatherObserved: hosts + storage + run history; plan = planReconcile):\n\n');
  w(table(['VMs', 'observe', 'observe min-max', 'hosts done', 'observe again', 'plan', `plan x${o.planRuns} median`, 'load repo', 'wall (process)', 'cpu', 'peak RSS MiB'], rows.map((r) => [
    String(r.vms), r.observeMs.toFixed(0), `${r.observeMinMs.toFixed(0)}-${r.observeMaxMs.toFixed(0)}`, r.hostsDoneMs.toFixed(0), r.observeAfterMs.toFixed(0),
    r.planMs.toFixed(0), `${r.planRepeatMs.toFixed(0)} (min ${r.planRepeatMinMs.toFixed(0)})`, r.loadMs.toFixed(0), `${r.wallMs.toFixed(0)} (min ${r.wallMinMs.toFixed(0)})`, r.cpuMs.toFixed(0), r.peakRssMiB.toFixed(0),
  ])) + '\n\n');
  w('Plan actions (first pass):\n');
  for (const r of rows) w(`  ${r.vms} VMs (${r.storedVms} with ${r.storedPoints} restore points on storage): ${Object.entries(r.actions).map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
  w(`\nload average before/after: ${o.load0.map((x) => x.toFixed(2)).join(' ')} / ${o.load1.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs${o.load0[0]! > 0.5 || o.load1[0]! > 1.5 ? ' (the machine was busy: times are noisy)' : ''}\n`);
  if (o.kept) w(`kept: ${o.kept}\n`);
}
