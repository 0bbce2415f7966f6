// Benchmark: validate, plan and render of a 10,000-VM / 500-hypervisor / 50-policy repo, each
// against the floor (reading + YAML.parse of the same files, nothing else). See bench/README.md.
//
//   npm run bench:policy -- [--runs N] [--json] [--profile] [--keep] [--dir DIR]
//                           [--vms N] [--hypervisors N] [--policies N] [--status-vms N] [--seed N]
//
// Every contender is a child process (node start-up counted on both sides alike), timed wall
// clock from spawn to exit; peak RSS is the child's own getrusage ru_maxrss, reported at exit by
// a preload (bench/rss-probe.ts). Exit status: 0 whatever the figures, 1 only when something
// crashed or the generated repo is not what it should be. Benchmarks report, they do not gate.
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_GENERATE, allVms, buildFleet, mutateFleet, pickRetentionTargets, resetDir, writePolicyFiles, writeStatusFiles,
  type GenerateOptions, type MutationSummary,
} from './generate.js';
import { summarizeCpuProfile, type ProfileSummary } from './cpu-profile.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // <root>/dist/bench
const ROOT = resolve(HERE, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'main.js');
const FLOOR = join(HERE, 'floor.js');
const PROBE = join(HERE, 'rss-probe.js');

/** A reported failure (bad option, crashed contender, invalid generated repo): message only, no stack. */
class BenchFailure extends Error {}

const TARGET_RATIO = 2;
const TARGET_RSS_MIB = 300;

// ---------------------------------------------------------------------------------------------
// Options

interface Options { runs: number; json: boolean; profile: boolean; keep: boolean; dir?: string; gen: GenerateOptions }

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 5, json: false, profile: false, keep: false, gen: { ...DEFAULT_GENERATE } };
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
      case '--profile': o.profile = true; break;
      case '--keep': o.keep = true; break;
      case '--dir': o.dir = resolve(argv[++i] ?? '.'); break;
      case '--vms': o.gen.vms = num(++i, a); break;
      case '--hypervisors': o.gen.hypervisors = Math.max(1, num(++i, a)); break;
      case '--policies': o.gen.policies = Math.max(1, num(++i, a)); break;
      case '--status-vms': o.gen.statusVms = num(++i, a); break;
      case '--seed': o.gen.seed = num(++i, a); break;
      case '-h': case '--help':
        process.stdout.write('usage: node dist/bench/policy-repo.js [--runs N] [--json] [--profile] [--keep] [--dir DIR] [--vms N] [--hypervisors N] [--policies N] [--status-vms N] [--seed N]\n');
        process.exit(0);
      default: throw new BenchFailure(`unknown option ${a} (try --help)`);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Child processes

interface RunResult { wallMs: number; exitCode: number | null; signal: string | null; maxRssKiB: number; cpuMs: number; stdoutBytes: number; stderr: string }

function log(msg: string): void { process.stderr.write(`bench: ${msg}\n`); }

/** Runs `node --import rss-probe <args>` and waits for it; stdout goes to a file, not through us. */
async function runNode(args: readonly string[], work: string, extraNodeFlags: readonly string[] = []): Promise<RunResult> {
  const probeOut = join(work, 'probe.json');
  const outFile = join(work, 'child.stdout');
  const errFile = join(work, 'child.stderr');
  rmSync(probeOut, { force: true });
  const out = openSync(outFile, 'w');
  const err = openSync(errFile, 'w');
  const t0 = performance.now();
  const child = spawn(process.execPath, [...extraNodeFlags, '--import', PROBE, ...args], {
    stdio: ['ignore', out, err],
    env: { ...process.env, VMB_BENCH_PROBE_OUT: probeOut, NO_COLOR: '1' },
  });
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (c, s) => res({ code: c, signal: s }));
  });
  const wallMs = performance.now() - t0;
  closeSync(out);
  closeSync(err);
  let probe = { maxRssKiB: 0, userMs: 0, systemMs: 0 };
  if (existsSync(probeOut)) probe = JSON.parse(readFileSync(probeOut, 'utf8')) as typeof probe;
  return { wallMs, exitCode: code, signal, maxRssKiB: probe.maxRssKiB, cpuMs: probe.userMs + probe.systemMs, stdoutBytes: statSync(outFile).size, stderr: readFileSync(errFile, 'utf8') };
}

const stdoutOf = (work: string): string => readFileSync(join(work, 'child.stdout'), 'utf8');

// ---------------------------------------------------------------------------------------------
// The repo

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null',
};

function git(repo: string, args: string[], date?: string): string {
  return execFileSync('git', ['-C', repo, '-c', 'commit.gpgsign=false', '-c', 'core.autocrlf=false', ...args], {
    encoding: 'utf8', env: { ...process.env, ...GIT_ENV, ...(date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {}) }, maxBuffer: 1 << 28,
  });
}

interface RepoInfo { repo: string; base: string; files: number; bytes: number; statusFiles: number; headVms: number; baseVms: number; mutation: MutationSummary; genMs: number }

function dirStats(dir: string, skip: (rel: string) => boolean): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (skip(rel) || !/\.ya?ml$/.test(rel)) continue;
    files++;
    bytes += statSync(join(dir, rel)).size;
  }
  return { files, bytes };
}

function generateRepo(work: string, gen: GenerateOptions): RepoInfo {
  const t0 = performance.now();
  const repo = join(work, 'repo');
  const base = join(work, 'base');
  resetDir(repo);
  resetDir(base);
  const fleet = buildFleet(gen);
  writePolicyFiles(fleet, repo);
  const targets = pickRetentionTargets(fleet);
  const statusFiles = writeStatusFiles(fleet, repo, targets.map((v) => v.name));
  const baseVms = allVms(fleet).length;
  git(repo, ['init', '-q', '-b', 'main']);
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', `base: ${gen.vms} VMs on ${gen.hypervisors} hypervisors, ${gen.policies} policies`], '2026-11-30T12:00:00Z');
  const mutation = mutateFleet(fleet, targets, repo);
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', `change ~5% of VMs: ${JSON.stringify(mutation)}`], '2026-12-01T05:00:00Z');
  // The base revision as plain files, for the plan floor (which parses both revisions).
  const tar = join(work, 'base.tar');
  git(repo, ['archive', '--format=tar', '-o', tar, 'HEAD~1']);
  execFileSync('tar', ['-xmf', tar, '-C', base]);
  rmSync(tar);
  const st = dirStats(repo, (rel) => rel.startsWith('.') || rel.startsWith('status'));
  return { repo, base, files: st.files, bytes: st.bytes, statusFiles, headVms: allVms(fleet).length, baseVms, mutation, genMs: performance.now() - t0 };
}

// ---------------------------------------------------------------------------------------------
// Contenders

interface Contender {
  name: string;
  args: string[];
  /** Exit codes that mean "ran fine". */
  ok: number[];
  /** The floor its time is judged against (itself for a floor). */
  fairFloor?: string;
  note: string;
}

function contenders(r: RepoInfo, work: string, now: string): Contender[] {
  const status = join(r.repo, 'status', 'vms');
  return [
    { name: 'floor', args: [FLOOR, r.repo], ok: [0], note: 'read + YAML.parse the head policy files' },
    { name: 'floor-plan', args: [FLOOR, r.repo, r.base, '--status', status], ok: [0], note: 'read + YAML.parse both revisions + status files (what plan reads)' },
    { name: 'validate', args: [CLI, 'validate', '--repo', r.repo], ok: [0], fairFloor: 'floor', note: 'working tree' },
    { name: 'plan', args: [CLI, 'plan', '--repo', r.repo, '--base', 'HEAD~1', '--head', 'HEAD', '--format', 'json', '--now', now], ok: [2], fairFloor: 'floor-plan', note: 'two git revisions, JSON' },
    { name: 'render', args: [CLI, 'render', '--repo', r.repo, '--out', join(work, 'render-out')], ok: [0], fairFloor: 'floor', note: 'working tree' },
  ];
}

function fail(msg: string, r?: RunResult): never {
  const detail = r?.stderr ? '\n' + r.stderr.split('\n').slice(0, 40).join('\n') : '';
  throw new BenchFailure(msg + detail);
}

interface SanityReport { headErrors: number; headWarnings: number; baseErrors: number; plan: Record<string, number>; renderedBytes: number }

/** The generated repo must be valid at both revisions, plan must see changes, render must work. */
async function sanity(r: RepoInfo, cs: Contender[], work: string): Promise<SanityReport> {
  const v = await runNode([CLI, 'validate', '--repo', r.repo, '--json'], work);
  if (v.exitCode !== 0) fail(`validate of the generated repo exited ${v.exitCode}`, v);
  const vr = JSON.parse(stdoutOf(work)) as { errors: number; warnings: number; vms: number; hypervisors: number; policies: number; diagnostics: unknown[] };
  if (vr.errors !== 0) fail(`generated repo has ${vr.errors} errors: ${JSON.stringify(vr.diagnostics.slice(0, 5))}`);
  if (vr.vms !== r.headVms) fail(`validate saw ${vr.vms} VMs, generated ${r.headVms}`);
  const b = await runNode([CLI, 'validate', '--repo', r.base, '--json'], work);
  const br = JSON.parse(stdoutOf(work)) as { errors: number; vms: number; diagnostics: unknown[] };
  if (b.exitCode !== 0 || br.errors !== 0) fail(`base revision has ${br.errors} errors: ${JSON.stringify(br.diagnostics.slice(0, 5))}`, b);
  if (br.vms !== r.baseVms) fail(`validate saw ${br.vms} VMs at base, generated ${r.baseVms}`);
  const planC = cs.find((c) => c.name === 'plan')!;
  const p = await runNode(planC.args, work);
  if (p.exitCode !== 2) fail(`plan exited ${p.exitCode}, expected 2 (changes)`, p);
  const plan = JSON.parse(stdoutOf(work)) as { gained: string[]; lost: string[]; vmChanges: unknown[]; schedules: unknown[]; retention: { wouldPrune: unknown[]; wouldKeep: unknown[] }[]; renderDiff: { patch: string }[] };
  const prunes = plan.retention.reduce((n, x) => n + x.wouldPrune.length, 0);
  const keeps = plan.retention.reduce((n, x) => n + x.wouldKeep.length, 0);
  if (prunes + keeps === 0) fail('plan computed no retention deltas: the status files do not cover the changed VMs');
  const renderC = cs.find((c) => c.name === 'render')!;
  const rr = await runNode(renderC.args, work);
  if (rr.exitCode !== 0) fail(`render exited ${rr.exitCode}`, rr);
  const outDir = renderC.args[renderC.args.indexOf('--out') + 1]!;
  const renderedBytes = readdirSync(outDir).reduce((n, f) => n + statSync(join(outDir, f)).size, 0);
  return {
    headErrors: vr.errors, headWarnings: vr.warnings, baseErrors: br.errors, renderedBytes,
    plan: { gained: plan.gained.length, lost: plan.lost.length, vmChanges: plan.vmChanges.length, scheduleChanges: plan.schedules.length, retentionChanges: plan.retention.length, wouldPrune: prunes, wouldKeep: keeps, renderDiffBytes: plan.renderDiff.reduce((n, d) => n + d.patch.length, 0), outputBytes: p.stdoutBytes },
  };
}

// ---------------------------------------------------------------------------------------------
// Measuring and reporting

interface Row {
  name: string;
  note: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  medianCpuMs: number;
  peakRssMiB: number;
  ratioToFloor: number;
  fairFloor: string;
  ratioToFairFloor: number;
  /** Against twice the single floor's median (the arithmetic "2× floor"; informative, for plan). */
  ratioToDoubleFloor?: number;
  judged: boolean;
  pass: boolean | null;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

async function measure(cs: Contender[], runs: number, work: string): Promise<Row[]> {
  const samples = new Map<string, RunResult[]>(cs.map((c) => [c.name, []]));
  // Round-robin, so drift (thermal, page cache, other load) spreads over every contender alike.
  for (let i = 0; i < runs; i++) {
    for (const c of cs) {
      const res = await runNode(c.args, work);
      if (res.signal || res.exitCode === null || !c.ok.includes(res.exitCode)) fail(`${c.name} run ${i + 1} exited ${res.exitCode ?? res.signal}, expected ${c.ok.join('/')}`, res);
      if (!res.maxRssKiB) fail(`${c.name}: the RSS probe reported nothing`, res);
      samples.get(c.name)!.push(res);
      log(`run ${i + 1}/${runs} ${c.name.padEnd(10)} ${res.wallMs.toFixed(0).padStart(6)} ms ${(res.maxRssKiB / 1024).toFixed(0).padStart(4)} MiB`);
    }
  }
  const med = (n: string): number => median(samples.get(n)!.map((s) => s.wallMs));
  const floorMs = med('floor');
  return cs.map((c) => {
    const s = samples.get(c.name)!;
    const ms = med(c.name);
    const judged = c.fairFloor !== undefined;
    const fair = c.fairFloor ?? c.name;
    const peak = Math.max(...s.map((x) => x.maxRssKiB)) / 1024;
    const ratioFair = ms / med(fair);
    return {
      name: c.name, note: c.note, runs: s.length, medianMs: r1(ms), minMs: r1(Math.min(...s.map((x) => x.wallMs))), maxMs: r1(Math.max(...s.map((x) => x.wallMs))),
      medianCpuMs: r1(median(s.map((x) => x.cpuMs))), peakRssMiB: r1(peak), ratioToFloor: r2(ms / floorMs), fairFloor: fair, ratioToFairFloor: r2(ratioFair),
      ...(c.fairFloor === 'floor-plan' ? { ratioToDoubleFloor: r2(ms / (2 * floorMs)) } : {}),
      judged, pass: judged ? ratioFair <= TARGET_RATIO && peak <= TARGET_RSS_MIB : null,
    };
  });
}

function table(rows: Row[]): string {
  const head = ['contender', 'median ms', 'min ms', 'cpu ms', 'peak RSS MiB', 'ratio/floor', 'ratio/fair floor', 'target', 'result'];
  const body = rows.map((r) => [
    r.name, r.medianMs.toFixed(0), r.minMs.toFixed(0), r.medianCpuMs.toFixed(0), r.peakRssMiB.toFixed(0), `${r.ratioToFloor.toFixed(2)}x`,
    r.judged ? `${r.ratioToFairFloor.toFixed(2)}x (${r.fairFloor})` : '-', r.judged ? `<=${TARGET_RATIO}x, <=${TARGET_RSS_MIB} MiB` : '-',
    r.pass === null ? '(floor)' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => (i === 0 || i >= 6 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ') + ' |';
  return [line(head), '|' + w.map((x, i) => (i === 0 || i >= 6 ? ':' + '-'.repeat(x + 1) : '-'.repeat(x + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

async function profile(cs: Contender[], work: string): Promise<Record<string, ProfileSummary>> {
  const out: Record<string, ProfileSummary> = {};
  for (const c of cs.filter((x) => x.fairFloor !== undefined || x.name === 'floor')) {
    const dir = join(work, 'prof', c.name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const res = await runNode(c.args, work, ['--cpu-prof', '--cpu-prof-dir', dir]);
    if (!c.ok.includes(res.exitCode ?? -1)) fail(`${c.name} (profiled) exited ${res.exitCode}`, res);
    const f = readdirSync(dir).find((n) => n.endsWith('.cpuprofile'));
    if (!f) fail(`${c.name}: no .cpuprofile written`);
    out[c.name] = summarizeCpuProfile(join(dir, f), ROOT);
  }
  return out;
}

function printProfile(name: string, p: ProfileSummary): void {
  process.stdout.write(`\n### ${name}: ${p.totalMs} ms sampled on the main thread (GC ${p.gcMs} ms)\n`);
  process.stdout.write('self time by area:     ' + p.byArea.slice(0, 8).map((x) => `${x.what} ${x.ms.toFixed(0)}`).join(', ') + '\n');
  process.stdout.write('top self time (ms):\n' + p.topFunctions.slice(0, 12).map((x) => `  ${x.ms.toFixed(0).padStart(6)}  ${x.what}`).join('\n') + '\n');
  if (p.srcInclusive.length) process.stdout.write('src/ inclusive (ms):\n' + p.srcInclusive.slice(0, 12).map((x) => `  ${x.ms.toFixed(0).padStart(6)}  ${x.what}`).join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) fail(`${CLI} is missing: run npm run build first`);
  if (o.runs < 1) fail('--runs must be at least 1');
  const work = o.dir ?? mkdtempSync(join(tmpdir(), 'vmbackup-bench-'));
  mkdirSync(work, { recursive: true });
  let failed = true;
  try {
    log(`generating ${o.gen.vms} VMs / ${o.gen.hypervisors} hypervisors / ${o.gen.policies} policies in ${work}`);
    const info = generateRepo(work, o.gen);
    log(`generated ${info.files} policy files (${(info.bytes / 1048576).toFixed(2)} MiB) + ${info.statusFiles} status files in ${info.genMs.toFixed(0)} ms; change: ${JSON.stringify(info.mutation)}`);
    const cs = contenders(info, work, o.gen.now);
    const check = await sanity(info, cs, work); // also warms the page cache
    log(`sanity: head ${check.headErrors} errors / ${check.headWarnings} warnings, base ${check.baseErrors} errors; plan ${JSON.stringify(check.plan)}; rendered ${check.renderedBytes} bytes`);
    const load0 = loadavg();
    const rows = await measure(cs, o.runs, work);
    const load1 = loadavg();
    const prof = o.profile ? await profile(cs, work) : undefined;
    const commands = Object.fromEntries(cs.map((c) => [c.name, ['node', '--import', PROBE, ...c.args].join(' ')]));
    const result = {
      node: process.version, platform: `${process.platform}/${process.arch}`, cpus: cpus().length, loadavgBefore: load0, loadavgAfter: load1, runs: o.runs, generate: o.gen,
      repo: { policyFiles: info.files, policyBytes: info.bytes, statusFiles: info.statusFiles, headVms: info.headVms, baseVms: info.baseVms, mutation: info.mutation },
      sanity: check, targets: { ratio: TARGET_RATIO, rssMiB: TARGET_RSS_MIB }, results: rows, commands, ...(prof ? { profiles: prof } : {}),
      ...(o.keep ? { workDir: work } : {}),
    };
    if (o.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      process.stdout.write(`\nvmbackup policy-repo benchmark: ${info.headVms} VMs, ${o.gen.hypervisors} hypervisors, ${o.gen.policies} policies; ${info.files} policy files (${(info.bytes / 1048576).toFixed(2)} MiB), ${info.statusFiles} status files; node ${process.version}; median of ${o.runs} runs\n\n`);
      process.stdout.write(table(rows) + '\n\n');
      process.stdout.write('ratio/floor is against the single-revision floor. The judged figure is ratio/fair floor: validate and render against floor;\n'
        + 'plan reads two revisions and the status files, so it is judged against floor-plan, one process parsing all of those\n'
        + `(stricter than the arithmetic 2x floor, since node start-up is paid once).${rows.filter((r) => r.ratioToDoubleFloor !== undefined).map((r) => ` ${r.name} vs 2x floor: ${r.ratioToDoubleFloor!.toFixed(2)}x.`).join('')}\n`);
      process.stdout.write(`load average before/after the timed runs: ${load0.map((x) => x.toFixed(2)).join(' ')} / ${load1.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs${load0[0]! > 0.5 || load1[0]! > 1.5 ? ' (the machine was busy: figures are noisy)' : ''}\n`);
      process.stdout.write(`plan: ${JSON.stringify(check.plan)}\n`);
      if (prof) for (const [n, p] of Object.entries(prof)) printProfile(n, p);
      if (o.keep) process.stdout.write(`\nkept: ${work}\n`);
    }
    failed = false;
  } finally {
    if (failed) log(`work dir kept for inspection: ${work}`);
    else if (!o.keep && !o.dir) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  log(e instanceof BenchFailure ? `FAILED: ${e.message}` : `crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
