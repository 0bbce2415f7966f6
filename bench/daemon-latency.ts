// Benchmark: commit-to-applied latency of `vmbackup daemon` over webhook-triggered commits (issue
// target: the webhook reconciles the new commit within 2 s), against a baseline of git fetch +
// validate + render as separate processes. Needs root and the lab (test/lab/up.sh). See bench/daemon.md.
//
//   npm run bench:daemon -- [--commits N] [--warmup N] [--vms N] [--hosts lab|local]
//                           [--scheduler cron|bacula] [--poll-ms N] [--no-baseline] [--json] [--keep]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLab } from '../test/lab/lab.js';
import { benchPolicy, commitAndPush, makeRepos, mutate } from './daemon-repo.js';
import { defineVms, sweepLeftovers, undefineVm } from './daemon-vms.js';
import { readyz, startDaemon, stopDaemon, type Daemon } from './daemon-proc.js';
import { measureCommit, type Ctx } from './daemon-measure.js';
import { printReport, summarise, verdict, type Sample } from './daemon-report.js';
import { baculaAvailable, setupBacula, startDirector, type BaculaSetup } from './daemon-bacula.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // <root>/dist/bench
const CLI = resolve(HERE, '..', 'src', 'main.js');
const TARGET_MS = 2000;

class BenchFailure extends Error {}
/** Set by a signal: the handler cleans up and exits 130; nothing else reports or exits. */
let interrupted = false;
const log = (msg: string): void => { process.stderr.write(`bench: ${msg}\n`); };

interface Options { commits: number; warmup: number; vms: number; hosts: 'lab' | 'local'; scheduler: 'cron' | 'bacula'; pollMs: number; baseline: boolean; json: boolean; keep: boolean }

const USAGE = 'usage: node dist/bench/daemon-latency.js [--commits N] [--warmup N] [--vms N] [--hosts lab|local] [--scheduler cron|bacula] [--poll-ms N] [--no-baseline] [--json] [--keep]\n';

function parseArgs(argv: string[]): Options {
  const o: Options = { commits: 20, warmup: 2, vms: 3, hosts: 'lab', scheduler: 'cron', pollMs: 10, baseline: true, json: false, keep: false };
  const num = (i: number, flag: string, min: number): number => {
    const v = Number(argv[i]);
    if (!Number.isInteger(v) || v < min) throw new BenchFailure(`${flag} needs an integer >= ${min}, got ${JSON.stringify(argv[i])}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--commits': o.commits = num(++i, a, 1); break;
      case '--warmup': o.warmup = num(++i, a, 0); break;
      case '--vms': o.vms = num(++i, a, 1); break;
      case '--poll-ms': o.pollMs = num(++i, a, 1); break;
      case '--hosts': { const v = argv[++i]; if (v !== 'lab' && v !== 'local') throw new BenchFailure('--hosts is lab or local'); o.hosts = v; break; }
      case '--scheduler': { const v = argv[++i]; if (v !== 'cron' && v !== 'bacula') throw new BenchFailure('--scheduler is cron or bacula'); o.scheduler = v; break; }
      case '--no-baseline': o.baseline = false; break;
      case '--json': o.json = true; break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0);
      default: throw new BenchFailure(`unknown option ${a} (try --help)`);
    }
  }
  return o;
}

/** Runs a command (argv array) to completion, without blocking the event loop; throws on failure. */
export function run(argv: string[], cwd?: string, env: Record<string, string> = {}): Promise<{ ms: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const c = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    c.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    c.on('error', rej);
    c.on('close', (code) => (code === 0 ? res({ ms: performance.now() - t0, stdout, stderr }) : rej(new BenchFailure(`${argv.slice(0, 4).join(' ')} … exited ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`))));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new BenchFailure(`${CLI} is missing: run npm run build first`);
  if (process.getuid?.() !== 0) throw new BenchFailure('needs root (the lab\'s libvirt and sshd)');
  const lab = loadLab();
  if (!lab) throw new BenchFailure('no lab is up (sudo test/lab/up.sh)');
  if (o.scheduler === 'bacula') { const why = baculaAvailable(); if (why) throw new BenchFailure(why); }
  sweepLeftovers(log);
  const work = mkdtempSync(join(tmpdir(), `vmb-dlat-${process.pid}-`));
  const state = join(work, 'state');
  let vms: string[] = [];
  let daemon: Daemon | undefined;
  let bacula: BaculaSetup | undefined;
  let cleaning: Promise<void> | undefined;
  /** Idempotent: a second caller (the signal handler, then main's finally) waits for the same cleanup. */
  const cleanup = (): Promise<void> => (cleaning ??= (async () => {
    if (daemon) await stopDaemon(daemon, 10_000).catch(() => undefined);
    await bacula?.director.stop().catch(() => undefined);
    for (const v of vms) undefineVm(v);
    if (!o.keep) rmSync(work, { recursive: true, force: true });
  })());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { interrupted = true; log(`${sig}: cleaning up`); void cleanup().finally(() => process.exit(130)); });
  }
  try {
    mkdirSync(join(work, 'images'), { recursive: true });
    mkdirSync(join(work, 'storage'), { recursive: true });
    vms = defineVms(join(work, 'images'), o.vms);
    if (o.scheduler === 'bacula') bacula = await setupBacula(join(state, 'repo'));
    const policy = benchPolicy(lab, { work, vms, hosts: o.hosts, ...(bacula ? { bacula: bacula.settings } : {}) });
    const repos = makeRepos(work, policy);
    await run([process.execPath, CLI, 'validate', '--repo', repos.work]);
    // Fresh backups of the bench VMs first: afterwards every reconcile finds nothing due.
    for (const vm of vms) await run([process.execPath, CLI, 'backup', vm, '--repo', repos.work, '--state-dir', state]);
    log(`${vms.length} bench VMs defined (shut off) and backed up; hypervisors: ${(policy.hypervisors as { name: string }[]).map((h) => h.name).join(', ')}; scheduler ${o.scheduler}`);
    if (bacula) { await startDirector(bacula, repos.work); log(`bacula-dir running on 127.0.0.1:${bacula.director.port}`); }
    daemon = await startDaemon({ cli: CLI, origin: repos.origin, stateDir: state, cronFile: join(work, 'vmbackup.cron'), logFile: join(work, 'daemon.log'), extra: bacula?.daemonArgs ?? [], env: bacula?.env ?? {} });
    const until = Date.now() + 120_000;
    while (!(await readyz(daemon.url))) {
      if (Date.now() > until || daemon.child.exitCode !== null) throw new BenchFailure(`the daemon did not become ready; see ${join(work, 'daemon.log')}`);
      await sleep(100);
    }
    const first = daemon.events.find((e) => e.msg === 'plan');
    log(`daemon ready at ${daemon.url}; first plan: ${JSON.stringify(first?.actions ?? [])}`);
    const ctx: Ctx = { daemon, cli: CLI, work, repos, pollMs: o.pollMs, baseline: o.baseline, run };
    const samples: Sample[] = [];
    const load0 = loadavg();
    for (let i = 0; i < o.warmup + o.commits; i++) {
      const change = mutate(policy, i, vms);
      const pushed = commitAndPush(repos, policy, `bench ${i}: ${change.vm} ${change.kind} -> ${change.to}`);
      const s = await measureCommit(ctx, i, change.kind, pushed);
      const tag = i < o.warmup ? 'warm-up' : `${i - o.warmup + 1}/${o.commits}`;
      log(`${tag} ${change.kind.padEnd(9)} ${pushed.sha.slice(0, 12)} applied ${s.appliedMs.toFixed(0)} ms, reconciled ${s.reconciledMs.toFixed(0)} ms (cycle ${s.cycleMs?.toFixed(0) ?? '?'} ms, ${s.cycles} cycle(s), ${s.actions ?? '?'} actions)${s.baseline ? `; baseline ${s.baseline.totalMs.toFixed(0)} ms` : ''}`);
      if (i >= o.warmup) samples.push(s);
    }
    const load1 = loadavg();
    const code = await stopDaemon(daemon);
    if (code !== 0) throw new BenchFailure(`the daemon exited ${code} on SIGTERM; see ${join(work, 'daemon.log')}`);
    daemon = undefined;
    const sum = summarise(samples);
    const v = verdict(sum, TARGET_MS);
    const hosts = (policy.hypervisors as { name: string }[]).map((h) => h.name);
    const notes = [
      `setup: ${hosts.length} hypervisor(s) (${hosts.join(', ')}), ${(policy.vms as unknown[]).length} VMs (${vms.length} enabled, shut off, freshly backed up; ${(policy.vms as unknown[]).length - vms.length} lab VMs enabled: false); remote file://${repos.bare}; poll every ${o.pollMs} ms`,
      `extra cycles (more than one per commit): ${samples.reduce((n, s) => n + s.cycles - 1, 0)}; actions per cycle: ${[...new Set(samples.map((s) => s.actions))].join(', ')}; rendered config rewritten by ${samples.filter((s) => s.configWrittenMs !== undefined).length} of ${samples.length} commits${o.scheduler === 'bacula' ? `, director reloaded ${samples.filter((s) => s.reloaded).length} times` : ''}`,
    ];
    const title = `vmbackup daemon-latency benchmark: ${o.commits} webhook-triggered commits (+${o.warmup} warm-up), scheduler ${o.scheduler}; node ${process.version}, ${cpus().length} CPUs`;
    if (o.json) process.stdout.write(JSON.stringify({ node: process.version, cpus: cpus().length, loadavgBefore: load0, loadavgAfter: load1, options: o, hypervisors: hosts, benchVms: vms, summary: sum, verdict: v, samples, ...(o.keep ? { workDir: work } : {}) }, null, 2) + '\n');
    else printReport(title, sum, v, notes, { before: load0, after: load1 });
    if (o.keep) log(`kept: ${work}`);
  } catch (e) {
    if (interrupted) return;
    const file = join(work, 'daemon.log');
    if (existsSync(file)) log(`last lines of the daemon's log:\n${readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n')}`);
    throw e;
  } finally {
    await cleanup();
  }
}

main().catch((e: unknown) => {
  if (interrupted) return; // the signal handler exits once cleanup is done
  log(e instanceof BenchFailure ? `FAILED: ${e.message}` : `crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
