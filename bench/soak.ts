// Benchmark: a daemon that runs for months. A real `vmbackup daemon` process polls a local bare
// remote holding N VMs on several hypervisors (fake `virsh` per host, one host unreachable over
// ssh) and pushes status to it; we sample its RSS (/proc/<pid>/status VmRSS) every second over
// --passes reconciles and check the issue's targets: steady state <= 150 MB for 50 VMs, no upward
// trend after warm-up, no pass triggered by the daemon's own push. No lab, no root. See bench/README.md.
//
//   npm run bench:soak -- [--passes N] [--vms N] [--hosts N] [--poll SEC] [--node-options "..."] [--json] [--keep]
//
// The default poll is 0.25 s (production: 60 s) so 1,000 passes take minutes, not hours; a pass
// does the same work whatever the interval. NODE_OPTIONS default to the shipped unit's
// (systemd/vmbackup.service), so the figures are the daemon's as deployed; --node-options '' for none. Exit status: 0 all PASS, 2 a target FAILED, 1 crashed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startDaemon, stopDaemon, unitNodeOptions, vmRssKiB, type Daemon } from './daemon-proc.js';
import { makeRepos } from './daemon-repo.js';
import { writeSoakFleet } from './soak-fleet.js';
import { figures, printReport, verdicts, type RssSample } from './soak-report.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // <root>/dist/bench
const CLI = resolve(HERE, '..', 'src', 'main.js');

class BenchFailure extends Error {}
const log = (msg: string): void => { process.stderr.write(`bench: ${msg}\n`); };

interface Options { passes: number; vms: number; hosts: number; pollSec: number; nodeOptions: string; json: boolean; keep: boolean }
const USAGE = 'usage: node dist/bench/soak.js [--passes N] [--vms N] [--hosts N] [--poll SEC] [--node-options "..."] [--json] [--keep]\n';

function parseArgs(argv: string[]): Options {
  const o: Options = { passes: 1000, vms: 50, hosts: 4, pollSec: 0.25, nodeOptions: unitNodeOptions(), json: false, keep: false };
  const num = (i: number, flag: string, min: number, int = true): number => {
    const v = Number(argv[i]);
    if (!Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min) throw new BenchFailure(`${flag} needs a number >= ${min}, got ${JSON.stringify(argv[i])}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--passes': o.passes = num(++i, a, 10); break;
      case '--vms': o.vms = num(++i, a, 1); break;
      case '--hosts': o.hosts = num(++i, a, 1); break;
      case '--poll': o.pollSec = num(++i, a, 0.01, false); break;
      case '--node-options': o.nodeOptions = argv[++i] ?? ''; break;
      case '--json': o.json = true; break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0);
      default: throw new BenchFailure(`unknown option ${a} (try --help)`);
    }
  }
  return o;
}


/** nodejs_heap_size_used_bytes and vmbackup_reconcile_triggers_total{reason} from /metrics. */
async function scrape(url: string): Promise<{ heapUsed?: number; triggers: Record<string, number> }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const heap = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
  const triggers: Record<string, number> = {};
  for (const m of text.matchAll(/^vmbackup_reconcile_triggers_total\{reason="([^"]+)"\} (\S+)$/gm)) triggers[m[1]!] = Number(m[2]);
  return { ...(heap ? { heapUsed: Number(heap) } : {}), triggers };
}

const reasonsOf = (e: Record<string, unknown>): string[] => (Array.isArray(e.reasons) ? e.reasons.map(String) : []);

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new BenchFailure(`${CLI} is missing: run npm run build first`);
  const work = mkdtempSync(join(tmpdir(), 'vmb-soak-'));
  let d: Daemon | undefined;
  const cleanup = (): void => { if (!o.keep) rmSync(work, { recursive: true, force: true }); };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => { log(`${sig}: cleaning up`); d?.child.kill('SIGKILL'); cleanup(); process.exit(130); });
  try {
    const fleet = writeSoakFleet(work, o.vms, o.hosts, await freePort());
    const repos = makeRepos(work, fleet.policy);
    const statusCommits = (): number => execFileSync('git', ['--git-dir', repos.bare, 'log', '--format=%s', 'main'], { encoding: 'utf8' }).split('\n').filter((s) => s.startsWith('status:')).length;
    log(`${o.vms} VMs on ${fleet.hosts} hypervisors (${fleet.unreachable} unreachable); poll ${o.pollSec} s; ${o.passes} passes; work dir ${work}`);
    // The bare repo's path (not file://): the daemon also watches its refs, so its own push is a trigger it must skip.
    d = await startDaemon({
      cli: CLI, origin: repos.bare, stateDir: join(work, 'state'), cronFile: join(work, 'vmbackup.cron'), logFile: join(work, 'daemon.log'),
      extra: ['--poll', String(o.pollSec)],
      env: { PATH: `${fleet.pathDir}:${process.env.PATH ?? ''}`, VMBACKUP_LOG_LEVEL: 'info', ...(o.nodeOptions ? { NODE_OPTIONS: o.nodeOptions } : {}) },
    });
    const pid = d.child.pid!;
    const done = (): number => d!.events.filter((e) => e.msg === 'reconcile done').length;
    const samples: RssSample[] = [];
    let triggers: Record<string, number> = {};
    const t0 = Date.now();
    let lastLog = 0;
    const budgetMs = Math.max(600_000, o.passes * (o.pollSec + 10) * 1000); // a loaded machine: a pass can take seconds
    while (done() < o.passes) {
      await new Promise((r) => setTimeout(r, 1000));
      if (d.child.exitCode !== null || d.child.signalCode !== null) throw new BenchFailure(`the daemon exited (${d.child.exitCode ?? d.child.signalCode}); see its log:\n${readFileSync(join(work, 'daemon.log'), 'utf8').slice(-3000)}`);
      if (Date.now() - t0 > budgetMs) { log(`time budget: only ${done()} of ${o.passes} passes in ${budgetMs / 1000} s; reporting those`); break; }
      const m = await scrape(d.url).catch(() => undefined);
      if (m) triggers = m.triggers;
      const passes = done();
      samples.push({ tMs: Date.now() - t0, passes, rssKiB: vmRssKiB(pid), ...(m?.heapUsed !== undefined ? { heapUsedBytes: m.heapUsed } : {}) });
      if (Date.now() - lastLog > 30_000) { lastLog = Date.now(); const s = samples.at(-1)!; log(`${passes}/${o.passes} passes, RSS ${(s.rssKiB / 1024).toFixed(1)} MB${s.heapUsedBytes ? `, heap used ${(s.heapUsedBytes / 1048576).toFixed(1)} MB` : ''}`); }
    }
    const wallSec = (Date.now() - t0) / 1000;
    const ev = d.events;
    const failed = ev.filter((e) => e.msg.startsWith('reconcile failed')).length;
    if (failed) log(`${failed} reconciles FAILED, e.g. ${JSON.stringify(ev.find((e) => e.msg.startsWith('reconcile failed')))}`);
    const finished = ev.filter((e) => e.msg === 'reconcile done');
    if (finished.some((e) => Number(e.actions) > 0)) log(`note: some passes had actions, e.g. ${JSON.stringify(finished.find((e) => Number(e.actions) > 0))}`);
    const f = figures(samples, done(), {
      statusCommits: statusCommits(),
      // The bench pushes nothing: a full pass whose only triggers were refs moving is the daemon's own push.
      selfTriggered: finished.filter((e) => { const r = reasonsOf(e); return r.length > 0 && r.every((x) => x === 'local change' || x.startsWith('webhook')); }).length,
      skippedOwnPush: ev.filter((e) => e.msg.startsWith('the branch has not moved')).length,
      triggers, wallSec,
    });
    await stopDaemon(d);
    const ok = verdicts(f).every((v) => v.ok);
    if (o.json) process.stdout.write(JSON.stringify({ node: process.version, options: o, figures: f, verdicts: verdicts(f), samples, ...(o.keep ? { workDir: work } : {}) }, null, 2) + '\n');
    else printReport(f, { vms: o.vms, hosts: fleet.hosts, pollSec: o.pollSec, nodeOptions: o.nodeOptions });
    if (!ok) process.exitCode = 2;
  } finally {
    if (d) await stopDaemon(d, 5000).catch(() => undefined);
    cleanup();
  }
}

main().catch((e: unknown) => {
  log(e instanceof BenchFailure ? `FAILED: ${e.message}` : `crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
