// Benchmark: one reconcile's observation + plan over a 500-hypervisor, 10,000-VM fleet, counting
// the remote commands per hypervisor, and again with twice the VMs per hypervisor to show that the
// count per host does not grow with VMs. See bench/daemon.md.
//
//   npm run bench:reconcile -- [--runs N] [--json] [--keep] [--dir DIR] [--vms N] [--hypervisors N]
//                              [--policies N] [--stored-vms N] [--points N] [--scales 1,2] [--seed N]
//
// The observation is the daemon's own code (src/daemon/observe.ts → src/engine/observe-host.ts →
// Virsh → LocalTransport/execa) run in a child process; each hypervisor's `virsh` is a fake
// /bin/sh script answering from files (bench/fleet-hosts.ts). Exit status: 0 whatever the
// figures, 1 only when something crashed or the run is not what it should be.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { DEFAULT_GENERATE, buildFleet, writePolicyFiles, type GenerateOptions } from './generate.js';
import { writeFakeHosts, type FakeHostsSummary } from './fleet-hosts.js';
import { writeStoredPoints, type StorageSummary } from './fleet-storage.js';
import type { WorkerResult } from './fleet-worker.js';
import { checkScales, printReport, summarise, type ScaleRun } from './fleet-report.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // <root>/dist/bench
const WORKER = join(HERE, 'fleet-worker.js');
const PROBE = join(HERE, 'rss-probe.js');

class BenchFailure extends Error {}
const log = (msg: string): void => { process.stderr.write(`bench: ${msg}\n`); };
/** The worker running now, killed if we are interrupted. */
let current: ChildProcess | undefined;

interface Options { runs: number; json: boolean; keep: boolean; dir?: string; storedVms: number; points: number; scales: number[]; planRuns: number; gen: GenerateOptions }

const USAGE = 'usage: node dist/bench/reconcile-fleet.js [--runs N] [--json] [--keep] [--dir DIR] [--vms N] [--hypervisors N] [--policies N] [--stored-vms N] [--points N] [--scales 1,2] [--plan-runs N] [--seed N]\n';

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 3, json: false, keep: false, storedVms: 1000, points: 8, scales: [1, 2], planRuns: 5, gen: { ...DEFAULT_GENERATE, statusVms: 0 } };
  const num = (i: number, flag: string): number => {
    const v = Number(argv[i]);
    if (!Number.isInteger(v) || v < 0) throw new BenchFailure(`${flag} needs a non-negative integer, got ${JSON.stringify(argv[i])}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--runs': o.runs = Math.max(1, num(++i, a)); break;
      case '--json': o.json = true; break;
      case '--keep': o.keep = true; break;
      case '--dir': o.dir = resolve(argv[++i] ?? '.'); break;
      case '--vms': o.gen.vms = num(++i, a); break;
      case '--hypervisors': o.gen.hypervisors = Math.max(1, num(++i, a)); break;
      case '--policies': o.gen.policies = Math.max(1, num(++i, a)); break;
      case '--stored-vms': o.storedVms = num(++i, a); break;
      case '--points': o.points = Math.max(1, num(++i, a)); break;
      case '--plan-runs': o.planRuns = Math.max(1, num(++i, a)); break;
      case '--seed': o.gen.seed = num(++i, a); break;
      case '--scales': o.scales = (argv[++i] ?? '').split(',').map((s) => { const n = Number(s); if (!Number.isInteger(n) || n < 1) throw new BenchFailure(`--scales takes positive integers, got ${JSON.stringify(s)}`); return n; }); break;
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0);
      default: throw new BenchFailure(`unknown option ${a} (try --help)`);
    }
  }
  return o;
}

interface Prepared { scale: number; repo: string; hosts: string; storage: string; state: string; fake: FakeHostsSummary; stored: StorageSummary; gen: GenerateOptions }

function prepare(work: string, o: Options, scale: number): Prepared {
  const root = join(work, `x${scale}`);
  const gen = { ...o.gen, vms: o.gen.vms * scale };
  const fleet = buildFleet(gen);
  const p = { scale, repo: join(root, 'repo'), hosts: join(root, 'hosts'), storage: join(root, 'storage'), state: join(root, 'state'), gen };
  for (const d of [p.repo, p.storage, p.state]) mkdirSync(d, { recursive: true });
  writePolicyFiles(fleet, p.repo);
  const fake = writeFakeHosts(p.hosts, fleet);
  const stored = writeStoredPoints(p.storage, fleet, fleet.rng, o.storedVms * scale, o.points, gen.now);
  return { ...p, fake, stored };
}

interface Probe { maxRssKiB: number; userMs: number; systemMs: number }

/** Runs the worker under the RSS probe; resolves with its JSON, wall time and peak RSS. */
function runWorker(p: Prepared, planRuns: number, work: string): Promise<ScaleRun> {
  const probeOut = join(work, `probe-x${p.scale}.json`);
  rmSync(probeOut, { force: true });
  const args = ['--import', PROBE, WORKER, '--repo', p.repo, '--hosts', p.hosts, '--storage', p.storage, '--state', p.state, '--now', p.gen.now, '--plan-runs', String(planRuns)];
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VMB_BENCH_PROBE_OUT: probeOut } });
    current = child;
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    child.on('error', rej);
    child.on('close', (code) => {
      current = undefined;
      const wallMs = performance.now() - t0;
      if (code !== 0) { rej(new BenchFailure(`fleet-worker (x${p.scale}) exited ${code}:\n${err.split('\n').slice(-20).join('\n')}`)); return; }
      const probe = existsSync(probeOut) ? JSON.parse(readFileSync(probeOut, 'utf8')) as Probe : undefined;
      if (!probe) { rej(new BenchFailure('the RSS probe reported nothing')); return; }
      res({ scale: p.scale, wallMs, maxRssKiB: probe.maxRssKiB, cpuMs: probe.userMs + probe.systemMs, result: JSON.parse(out) as WorkerResult });
    });
  });
}

/** Things that would make the figures meaningless: a crashed host, a failed command, no plan. */
function sanity(p: Prepared, r: ScaleRun): void {
  for (const [i, pass] of r.result.passes.entries()) {
    const where = `x${p.scale} pass ${i + 1}`;
    // Failed commands are a figure (reported), not a crash: under load, timeouts are real outcomes.
    if (pass.failedCommands) log(`${where}: ${pass.failedCommands} remote commands FAILED, ${pass.hostsInError} hosts in error; e.g. ${pass.failures.join(' || ')}`);
    else if (pass.observedDomains !== p.fake.domains) throw new BenchFailure(`${where}: observed ${pass.observedDomains} domains, the fake hosts run ${p.fake.domains}`);
    if (!pass.actions.total) throw new BenchFailure(`${where}: the plan has no actions`);
  }
  if (r.result.hypervisors !== p.gen.hypervisors) throw new BenchFailure(`x${p.scale}: loaded ${r.result.hypervisors} hypervisors, generated ${p.gen.hypervisors}`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(WORKER)) throw new BenchFailure(`${WORKER} is missing: run npm run build first`);
  if (o.dir && existsSync(o.dir) && readdirSync(o.dir).length) throw new BenchFailure(`--dir ${o.dir} is not empty`);
  const work = o.dir ?? mkdtempSync(join(tmpdir(), 'vmbackup-fleet-bench-'));
  // A temp dir of our own is removed; a --dir the user named is kept.
  const cleanup = (): void => { if (!o.keep && !o.dir) rmSync(work, { recursive: true, force: true }); };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => { log(`${sig}: cleaning up`); current?.kill('SIGKILL'); cleanup(); process.exit(130); });
  try {
    mkdirSync(work, { recursive: true });
    const prepared: Prepared[] = [];
    for (const s of o.scales) {
      const t0 = performance.now();
      const p = prepare(work, o, s);
      prepared.push(p);
      log(`x${s}: ${p.gen.vms} VMs on ${p.gen.hypervisors} hypervisors; fake hosts run ${p.fake.domains} domains (${p.fake.missing} repo VMs missing, ${p.fake.unmanaged} unmanaged, ${p.fake.overlays} on a leftover overlay); storage: ${p.stored.points} restore points of ${p.stored.vms} VMs; ${(performance.now() - t0).toFixed(0)} ms`);
    }
    // Warm-up (page cache, fake scripts) and sanity, then round-robin timed runs.
    for (const p of prepared) sanity(p, await runWorker(p, 1, work));
    const load0 = loadavg();
    const runs = new Map<number, ScaleRun[]>(o.scales.map((s) => [s, []]));
    for (let i = 0; i < o.runs; i++) {
      for (const p of prepared) {
        const r = await runWorker(p, o.planRuns, work);
        sanity(p, r);
        runs.get(p.scale)!.push(r);
        const p1 = r.result.passes[0]!;
        log(`run ${i + 1}/${o.runs} x${p.scale}: ${p1.commands} commands, observe ${p1.observeMs.toFixed(0)} ms, plan ${p1.planMs.toFixed(0)} ms, ${p1.actions.total} actions, wall ${r.wallMs.toFixed(0)} ms, ${(r.maxRssKiB / 1024).toFixed(0)} MiB`);
      }
    }
    const load1 = loadavg();
    const rows = prepared.map((p) => summarise(p.scale, p.gen.vms, p.gen.hypervisors, p.stored, runs.get(p.scale)!));
    const verdict = checkScales(rows);
    const result = { node: process.version, cpus: cpus().length, loadavgBefore: load0, loadavgAfter: load1, runs: o.runs, generate: o.gen, storedVmsPerScale1: o.storedVms, pointsPerVm: o.points, fakeHosts: Object.fromEntries(prepared.map((p) => [`x${p.scale}`, p.fake])), rows, verdict, ...(o.keep || o.dir ? { workDir: work } : {}) };
    if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else printReport(rows, verdict, { load0, load1, runs: o.runs, planRuns: o.planRuns, ...(o.keep || o.dir ? { kept: work } : {}) });
  } finally {
    cleanup();
  }
}

main().catch((e: unknown) => {
  log(e instanceof BenchFailure ? `FAILED: ${e.message}` : `crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
