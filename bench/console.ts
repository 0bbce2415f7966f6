// Benchmark: the operations console under load. A real `vmbackup daemon` process (the soak bench's
// synthetic fleet: fake `virsh` per host, no lab, no root) with 200 VMs on 4 hypervisors, 30 days
// of runs, restore points and storage samples, and tokens from `vmbackup daemon token` in an
// --api-tokens file. Closed-loop GETs at concurrency 8 for 15 s per route (/healthz as the
// baseline on the same listener), the SSE fan-out of one act to 16 event streams, and the daemon's
// RSS before and after. See bench/README.md ("Console").
//
//   npm run bench:console -- [--vms N] [--hosts N] [--seconds S] [--concurrency N] [--streams N] [--rounds N] [--node-options "..."] [--json] [--keep]
//
// Exit status: 0 all PASS, 2 a target FAILED, 1 crashed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHistory } from './console-history.js';
import { load, sseFanout, webLogin } from './console-load.js';
import { printReport, routeFigures, verdicts, type ConsoleFigures, type RouteFigures } from './console-report.js';
import { freePort, readyz, startDaemon, stopDaemon, unitNodeOptions, vmRssKiB, type Daemon } from './daemon-proc.js';
import { makeRepos } from './daemon-repo.js';
import { writeSoakFleet } from './soak-fleet.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // <root>/dist/bench
const CLI = resolve(HERE, '..', 'src', 'main.js');

class BenchFailure extends Error {}
const log = (msg: string): void => { process.stderr.write(`bench: ${msg}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Options { vms: number; hosts: number; seconds: number; concurrency: number; streams: number; rounds: number; nodeOptions: string; json: boolean; keep: boolean }
const USAGE = 'usage: node dist/bench/console.js [--vms N] [--hosts N] [--seconds S] [--concurrency N] [--streams N] [--rounds N] [--node-options "..."] [--json] [--keep]\n';


function parseArgs(argv: string[]): Options {
  const o: Options = { vms: 200, hosts: 4, seconds: 15, concurrency: 8, streams: 16, rounds: 10, nodeOptions: unitNodeOptions(), json: false, keep: false };
  const num = (i: number, flag: string, min: number): number => {
    const v = Number(argv[i]);
    if (!Number.isFinite(v) || v < min) throw new BenchFailure(`${flag} needs a number >= ${min}, got ${JSON.stringify(argv[i])}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--vms': o.vms = num(++i, a, 1); break;
      case '--hosts': o.hosts = num(++i, a, 1); break;
      case '--seconds': o.seconds = num(++i, a, 1); break;
      case '--concurrency': o.concurrency = num(++i, a, 1); break;
      case '--streams': o.streams = num(++i, a, 1); break;
      case '--rounds': o.rounds = num(++i, a, 1); break;
      case '--node-options': o.nodeOptions = argv[++i] ?? ''; break;
      case '--json': o.json = true; break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0);
      default: throw new BenchFailure(`unknown option ${a} (try --help)`);
    }
  }
  return o;
}

const rssMB = (pid: number): number => vmRssKiB(pid) / 1024;

/** Mints a token with the CLI, as an operator would. */
function mint(name: string, role: string): { token: string; line: string } {
  return JSON.parse(execFileSync(process.execPath, [CLI, 'daemon', 'token', '--name', name, '--role', role, '--json'], { encoding: 'utf8' })) as { token: string; line: string };
}

/** What the fleet API shows of the fixtures: restore points, calendar cells with an outcome, red ones. */
async function fixturesSeen(url: string, token: string): Promise<{ points: number; cells: number; red: number }> {
  const f = (await (await fetch(`${url}/api/v1/fleet`, { headers: { authorization: `Bearer ${token}` } })).json()) as { vms: { status: { restore_points: unknown[]; history: { outcome: string }[] } }[] };
  const cells = f.vms.flatMap((v) => v.status.history).filter((c) => c.outcome !== 'none');
  return { points: f.vms.reduce((n, v) => n + v.status.restore_points.length, 0), cells: cells.length, red: cells.filter((c) => c.outcome === 'failed').length };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new BenchFailure(`${CLI} is missing: run npm run build first`);
  const work = mkdtempSync(join(tmpdir(), 'vmb-console-'));
  let d: Daemon | undefined;
  const cleanup = (): void => { if (!o.keep) rmSync(work, { recursive: true, force: true }); };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => { log(`${sig}: cleaning up`); d?.child.kill('SIGKILL'); cleanup(); process.exit(130); });
  try {
    const now = new Date();
    const fleet = writeSoakFleet(work, o.vms, o.hosts, await freePort(), now);
    const vms = (fleet.policy.vms as { name: string; hypervisor: string }[]);
    const stateDir = join(work, 'state');
    const h = writeHistory(stateDir, String((fleet.policy.settings as { storage_root: string }).storage_root), vms, now);
    const repos = makeRepos(work, fleet.policy);
    const viewer = mint('bench-viewer', 'viewer');
    const operator = mint('bench-operator', 'operator');
    const tokens = join(work, 'console-tokens');
    writeFileSync(tokens, `${viewer.line}\n${operator.line}\n`, { mode: 0o600 });
    log(`${o.vms} VMs on ${fleet.hosts - 1} hypervisors (+ ${fleet.unreachable}, unreachable); ${h.runs} runs, ${o.vms + h.extraPoints} restore points, ${h.samples} storage samples; work dir ${work}`);
    d = await startDaemon({
      cli: CLI, origin: repos.bare, stateDir, cronFile: join(work, 'vmbackup.cron'), logFile: join(work, 'daemon.log'), extra: ['--api-tokens', tokens],
      env: { PATH: `${fleet.pathDir}:${process.env.PATH ?? ''}`, VMBACKUP_LOG_LEVEL: 'info', ...(o.nodeOptions ? { NODE_OPTIONS: o.nodeOptions } : {}) },
    });
    const daemon = d;
    const pid = daemon.child.pid!;
    const alive = (): void => { if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) throw new BenchFailure(`the daemon exited (${daemon.child.exitCode ?? daemon.child.signalCode}); see its log:\n${readFileSync(join(work, 'daemon.log'), 'utf8').slice(-3000)}`); };
    const t0 = Date.now();
    while (!(await readyz(daemon.url)) || !daemon.events.some((e) => e.msg === 'reconcile done')) {
      alive();
      if (Date.now() - t0 > 300_000) throw new BenchFailure('the daemon was not ready (first reconcile done) within 300 s');
      await sleep(250);
    }
    log(`ready after ${((Date.now() - t0) / 1000).toFixed(1)} s (first reconcile of ${o.vms} VMs included)`);
    await sleep(2000);
    const seen = await fixturesSeen(daemon.url, viewer.token);
    log(`the daemon sees ${seen.points} restore points and ${seen.cells} calendar days with a backup outcome (${seen.red} red)`);
    if (seen.points < o.vms || seen.cells === 0) throw new BenchFailure('the daemon does not see the fixtures (restore points, run history)');
    const rssBeforeMB = rssMB(pid);
    let rssPeakMB = rssBeforeMB;
    const sampler = setInterval(() => { try { rssPeakMB = Math.max(rssPeakMB, rssMB(pid)); } catch { /* exited */ } }, 250);
    const loadBefore = loadavg();
    const vm = vms.find((v) => v.hypervisor !== fleet.unreachable)!.name;
    const gone = vms.find((v) => v.hypervisor === fleet.unreachable)!.name;
    const bearer = { authorization: `Bearer ${viewer.token}` };
    const cookie = { cookie: await webLogin(daemon.url, viewer.token) };
    const routes: [string, string, Record<string, string>][] = [
      ['GET /healthz (baseline)', '/healthz', {}],
      [`GET /api/v1/fleet (${o.vms} VMs)`, '/api/v1/fleet', bearer],
      [`GET /api/v1/vms/${vm}`, `/api/v1/vms/${vm}`, bearer],
      ['GET /ui/ (fleet page)', '/ui/', cookie],
      ['GET /ui/storage', '/ui/storage', cookie],
    ];
    const figs: RouteFigures[] = [];
    for (const [label, path, headers] of routes) {
      alive();
      const bytes = (await (await fetch(`${daemon.url}${path}`, { headers })).arrayBuffer()).byteLength;
      const f = routeFigures(label, await load(`${daemon.url}${path}`, headers, o.concurrency, o.seconds * 1000));
      figs.push(f);
      log(`${label}: ${f.n} requests (${bytes} bytes each), p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, ${f.rps.toFixed(0)}/s, RSS ${rssMB(pid).toFixed(1)} MB`);
    }
    alive();
    const fanout = await sseFanout(daemon.url, viewer.token, operator.token, `/api/v1/vms/${gone}/backup`, o.streams, o.rounds);
    log(`SSE fan-out to ${o.streams} streams, ${o.rounds} acts (backups of ${gone}, on the unreachable host: they fail fast): worst ${Math.max(...fanout.map((r) => r.allSeenMs)).toFixed(1)} ms`);
    await sleep(2000);
    alive();
    const rssAfterMB = rssMB(pid);
    clearInterval(sampler);
    const loadAfter = loadavg();
    const f: ConsoleFigures = { routes: figs, fanout, rssBeforeMB, rssAfterMB, rssPeakMB: Math.max(rssPeakMB, rssAfterMB) };
    const code = await stopDaemon(daemon);
    const notes = [
      `daemon: NODE_OPTIONS=${o.nodeOptions || '(none)'}; fixtures: ${h.runs} runs over 30 days, ${o.vms + h.extraPoints} restore points, ${h.samples} storage samples; stopped by SIGTERM with exit code ${code}`,
      `load average before/after: ${loadBefore.map((x) => x.toFixed(2)).join(' ')} / ${loadAfter.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs (the load generator shares them)`,
    ];
    if (o.json) process.stdout.write(JSON.stringify({ node: process.version, options: o, figures: f, verdicts: verdicts(f), notes, ...(o.keep ? { workDir: work } : {}) }, null, 2) + '\n');
    else printReport(f, `vmbackup console: ${o.vms} VMs on ${o.hosts} hypervisors (+1 unreachable), concurrency ${o.concurrency}, ${o.seconds} s per route`, o.concurrency, notes);
    if (!verdicts(f).every((v) => v.ok)) process.exitCode = 2;
  } finally {
    if (d) await stopDaemon(d, 5000).catch(() => undefined);
    cleanup();
  }
}

main().catch((e: unknown) => {
  log(e instanceof BenchFailure ? `FAILED: ${e.message}` : `crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
