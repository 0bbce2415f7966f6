// Benchmark: one lab VM disk backed up by four paths in the same run — vmbackup (the real CLI:
// snapshot, qemu-img convert, SHA-256 in Node, manifest, blockcommit, publish), plain
// `qemu-img convert`, `cp --sparse=always`, and virtnbdbackup's full backup. See bench/README.md.
//
//   npm run bench:backup -- [--data-mib N] [--virtual-gib N] [--runs N] [--json] [--keep]
//                           [--dir DIR] [--contenders a,b,...] [--no-drop-caches] [--no-verify]
//   npm run bench:backup -- --ssh [--runs N] [--data-mib N] [--before-cli PATH] [--no-hv-mode] [--vm-state running|shutoff]
//     (bench/backup-ssh.ts; hypervisor mode: bench/backup-hv-mode.ts)
//
// Needs root and the lab (test/lab/up.sh). Makes its own OS-less VM `bench-vm` on the lab's local
// libvirt and removes it at the end, also on failure or SIGINT/SIGTERM. Exit status: 0 whatever
// the figures, 1 only when something crashed. Benchmarks report, they do not gate.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadLab, type Lab } from '../test/lab/lab.js';
import { labPolicy } from '../test/lab/policy-repo.js';
import {
  BenchFailure, bytesUnder, dropCaches, fsyncTree, GiB, imageFacts, liveChildren, log, median, MiB, sh, timed, which,
  type ImageFacts, type Timed,
} from './backup-exec.js';
import { benchVm, createVm, deleteCheckpoints, teardown, withOverlay, type BenchVm } from './backup-vm.js';
import { sshBench } from './backup-ssh.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // <root>/dist/bench
const ROOT = resolve(HERE, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'main.js');
const FLOOR = join(HERE, 'backup-floor.js');
const STREAM = join(HERE, 'backup-stream.js');
const MARKER = '.vmbackup-bench';

const TARGET_TIME = 1.15; // vmbackup ≤ 1.15 × qemu-img convert, hashing included
const TARGET_BYTES = 1.1; // bytes written ≤ 1.1 × the disk's allocated bytes

// `qemu-img+sha256` and `stream` are not among the issue's four paths. `qemu-img+sha256` is the
// copy-then-hash path (the engine's convert argv, then sha256File, as for ssh hypervisors); `stream`
// is the copy step vmbackup really uses for this local VM (map + streaming writer with its inline
// hash and fsync), in one bare node process, to split the copy from orchestration.
const ALL = ['qemu-img', 'qemu-img+sha256', 'stream', 'cp', 'virtnbdbackup', 'vmbackup'] as const;
type Name = (typeof ALL)[number];

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  dataMiB: number; virtualGiB: number | undefined; runs: number; json: boolean; keep: boolean; dir: string;
  contenders: Name[]; dropCaches: boolean; verify: boolean;
}

const USAGE = 'usage: node dist/bench/backup-paths.js [--data-mib N (1024)] [--virtual-gib N (max(2, 2×data))] [--runs N (3)] [--json] [--keep]\n'
  + '       [--dir DIR (/var/tmp/vmbackup-bench)] [--contenders qemu-img,qemu-img+sha256,stream,cp,virtnbdbackup,vmbackup] [--no-drop-caches] [--no-verify]\n';

function parseArgs(argv: string[]): Options {
  const o: Options = { dataMiB: 1024, virtualGiB: undefined, runs: 3, json: false, keep: false, dir: '/var/tmp/vmbackup-bench', contenders: [...ALL], dropCaches: true, verify: true };
  const num = (i: number, flag: string, min: number): number => {
    const v = Number(argv[i]);
    if (!Number.isInteger(v) || v < min) throw new BenchFailure(`${flag} needs an integer ≥ ${min}, got ${JSON.stringify(argv[i])}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--data-mib': o.dataMiB = num(++i, a, 1); break;
      case '--virtual-gib': o.virtualGiB = num(++i, a, 1); break;
      case '--runs': o.runs = num(++i, a, 1); break;
      case '--json': o.json = true; break;
      case '--keep': o.keep = true; break;
      case '--dir': o.dir = resolve(argv[++i] ?? '.'); break;
      case '--no-drop-caches': o.dropCaches = false; break;
      case '--no-verify': o.verify = false; break;
      case '--contenders': {
        const names = (argv[++i] ?? '').split(',').filter(Boolean);
        const bad = names.filter((n) => !(ALL as readonly string[]).includes(n));
        if (bad.length || !names.length) throw new BenchFailure(`--contenders takes a comma list of ${ALL.join(', ')}`);
        o.contenders = ALL.filter((n) => names.includes(n));
        break;
      }
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0);
      default: throw new BenchFailure(`unknown option ${a} (try --help)`);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Setup

interface Env {
  lab: Lab; o: Options; vm: BenchVm; out: string; logs: string; repo: string; state: string;
  vmbStorage: string; facts: ImageFacts; virtType: 'kvm' | 'qemu';
}

function checkTools(o: Options): void {
  const need = ['virsh', 'qemu-img', 'qemu-io', 'cp', 'sync', ...(o.contenders.includes('virtnbdbackup') ? ['virtnbdbackup'] : [])];
  const missing = need.filter((c) => !which(c));
  if (missing.length) {
    throw new BenchFailure(`missing: ${missing.join(', ')}${missing.includes('virtnbdbackup') ? ' (apt-get install -o DPkg::Lock::Timeout=600 --no-install-recommends virtnbdbackup, or leave it out with --contenders)' : ''}`);
  }
  if (!existsSync(CLI)) throw new BenchFailure(`${CLI} is missing: run npm run build`);
}

/** The bench dir is ours alone: created with a marker, and refused when something else is there. */
function claimDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length && !existsSync(join(dir, MARKER))) {
    throw new BenchFailure(`${dir} exists and is not a bench dir (no ${MARKER}); choose another --dir`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MARKER), 'bench/backup-paths.ts work dir; removed at the end unless --keep\n');
}

/** A policy repo with one hypervisor (the lab's `local`) and one VM (`bench-vm`). */
function writeRepo(lab: Lab, repo: string, storageRoot: string, controlDir: string): void {
  const p = labPolicy(lab, {
    storageRoot, controlDir,
    extraVms: [{ name: 'bench-vm', hypervisor: 'local', method: 'snapshot', priority: 10, schedule: 'weekly', retention: { keep_last: 3 } }],
  }) as { hypervisors: { name: string }[]; vms: { name: string }[] };
  p.hypervisors = p.hypervisors.filter((h) => h.name === 'local');
  p.vms = p.vms.filter((v) => v.name === 'bench-vm');
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(repo, 'bench.yaml'), '# written by bench/backup-paths.ts\n' + stringify(p));
}

// ---------------------------------------------------------------------------------------------
// Contenders

interface Sample {
  name: Name; run: number; position: number; wallMs: number; syncMs: number; allocated: number; apparent: number; files: number;
  cachedBeforeBytes: number; vmb?: VmbDetail; floor?: FloorDetail;
}

interface FloorDetail { convertMs: number; hashMs: number }

interface VmbDetail {
  backupId: string;
  /** The manifest's durations_ms (copy_ms = qemu-img convert of every disk plus their SHA-256). */
  durations: Record<string, number>;
  /** `step done` lines of the pino log on stderr: step → ms. */
  steps: Record<string, number>;
}

function failed(name: string, t: Timed): never {
  const tail = (t.stderr || t.stdout).trim().split('\n').slice(-15).join('\n  ');
  throw new BenchFailure(`${name} failed (exit ${t.exitCode ?? t.signal}):\n  ${tail}`);
}

/** Runs one contender into a fresh directory; returns its wall time and what it wrote. */
async function runContender(e: Env, name: Name, run: number): Promise<{ wallMs: number; path: string; vmb?: VmbDetail; floor?: FloorDetail }> {
  const dir = join(e.out, `${name}-r${run}`);
  const logBase = join(e.logs, `${name}-r${run}`);
  const target = join(dir, 'bench-vm-vda.qcow2');
  switch (name) {
    case 'qemu-img':
    case 'cp': {
      mkdirSync(dir, { recursive: true });
      const argv = name === 'qemu-img' ? ['qemu-img', 'convert', '-f', 'qcow2', '-O', 'qcow2', e.vm.disk, target] : ['cp', '--sparse=always', e.vm.disk, target];
      const t = await withOverlay(e.vm, () => timed(argv, logBase));
      if (t.exitCode !== 0) failed(name, t);
      return { wallMs: t.wallMs, path: dir };
    }
    case 'qemu-img+sha256': {
      mkdirSync(dir, { recursive: true });
      const t = await withOverlay(e.vm, () => timed([process.execPath, FLOOR, e.vm.disk, target], logBase));
      if (t.exitCode !== 0) failed(name, t);
      const f = JSON.parse(t.stdout) as FloorDetail;
      return { wallMs: t.wallMs, path: dir, floor: { convertMs: f.convertMs, hashMs: f.hashMs } };
    }
    case 'stream': {
      mkdirSync(dir, { recursive: true });
      const t = await withOverlay(e.vm, () => timed([process.execPath, STREAM, e.vm.disk, target], logBase));
      if (t.exitCode !== 0) failed(name, t);
      return { wallMs: t.wallMs, path: dir };
    }
    case 'virtnbdbackup': {
      // Pull mode over NBD from the running VM; -o must not exist yet. Its checkpoint is deleted
      // afterwards (untimed) so that every run is a first full and the other paths see the same disk.
      const t = await timed(['virtnbdbackup', '-d', e.vm.name, '-l', 'full', '-o', dir, '--noprogress', '-U', 'qemu:///system'], logBase);
      deleteCheckpoints(e.vm);
      if (t.exitCode !== 0) failed(name, t);
      return { wallMs: t.wallMs, path: dir };
    }
    case 'vmbackup': {
      const t = await timed([process.execPath, CLI, 'backup', e.vm.name, '--repo', e.repo, '--state-dir', e.state, '--json'], logBase, { ...process.env, NO_COLOR: '1' });
      if (t.exitCode !== 0) failed(name, t);
      const r = JSON.parse(t.stdout) as { status: string; backupId?: string };
      if (r.status !== 'ok' || !r.backupId) failed(name, t);
      const path = join(e.vmbStorage, 'local', e.vm.name, r.backupId);
      const m = JSON.parse(readFileSync(join(path, 'backup-metadata.json'), 'utf8')) as { durations_ms: Record<string, number> };
      const steps: Record<string, number> = {};
      for (const line of t.stderr.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; step?: string; ms?: number };
          if (j.msg === 'step done' && j.step && typeof j.ms === 'number') steps[j.step] = (steps[j.step] ?? 0) + j.ms;
        } catch { /* not a log line */ }
      }
      return { wallMs: t.wallMs, path, vmb: { backupId: r.backupId, durations: m.durations_ms, steps } };
    }
  }
}

/** Untimed: the copies are the disk (qemu-img compare); vmbackup's manifest hash is the file's. */
async function verify(e: Env, name: Name, path: string, vmb: VmbDetail | undefined): Promise<string> {
  if (name === 'virtnbdbackup') {
    const data = readdirSync(path).find((f) => /^vda\.full\.data$/.test(f));
    if (!data) throw new BenchFailure(`virtnbdbackup wrote no vda.full.data in ${path}`);
    const size = statSync(join(path, data)).size;
    if (size < e.facts.dataBytes) throw new BenchFailure(`virtnbdbackup's ${data} is ${size} bytes, less than the ${e.facts.dataBytes} bytes of data`);
    return `${data} holds ${size} bytes (stream format; ≥ the disk's data)`;
  }
  const file = name === 'vmbackup' ? join(path, `${e.vm.name}-vda.qcow2`) : join(path, 'bench-vm-vda.qcow2');
  const c = sh(['qemu-img', 'compare', '-U', '-f', 'qcow2', '-F', 'qcow2', e.vm.disk, file], { allowFailure: true });
  if (c.code !== 0) throw new BenchFailure(`${name}: ${file} differs from the disk: ${(c.stdout + c.stderr).trim()}`);
  if (name !== 'vmbackup' || !vmb) return 'identical to the disk (qemu-img compare)';
  const m = JSON.parse(readFileSync(join(path, 'backup-metadata.json'), 'utf8')) as { files: { path: string; sha256: string }[] };
  const want = m.files.find((f) => f.path === `${e.vm.name}-vda.qcow2`)?.sha256;
  const h = createHash('sha256');
  const fh = await open(file, 'r');
  try { for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20 })) h.update(chunk as Buffer); } finally { await fh.close(); }
  const got = h.digest('hex');
  if (got !== want) throw new BenchFailure(`vmbackup: manifest sha256 ${want} but the file hashes to ${got}`);
  return 'identical to the disk (qemu-img compare); manifest sha256 matches the file';
}

/** Brings the tools' own files back into the page cache after a drop: only the disk image stays cold. */
function warmTools(e: Env): void {
  sh([process.execPath, CLI, '--version'], { allowFailure: true });
  sh(['qemu-img', '--version'], { allowFailure: true });
  sh(['cp', '--version'], { allowFailure: true });
  if (e.o.contenders.includes('virtnbdbackup')) sh(['virtnbdbackup', '--version'], { allowFailure: true });
  sh(['virsh', '-c', 'qemu:///system', 'domstate', e.vm.name], { allowFailure: true });
}

/** Resident bytes of a file in the page cache (util-linux fincore), or NaN without fincore. */
function residentBytes(path: string): number {
  const r = sh(['fincore', '--bytes', '--noheadings', '--output', 'RES', path], { allowFailure: true });
  return r.code === 0 ? Number(r.stdout.trim()) : NaN;
}

// ---------------------------------------------------------------------------------------------
// Report

interface Row {
  name: string; runs: number; medianMs: number; minMs: number; maxMs: number; mibPerSec: number;
  /** Wall time plus the fsync of the output afterwards (median of the per-run sums). */
  medianDurableMs: number; ratioDurable: number | null;
  allocated: number; apparent: number; ratioTime: number | null; ratioBytes: number;
  timeTarget: 'PASS' | 'FAIL' | '-'; bytesTarget: 'PASS' | 'FAIL';
}

function rows(samples: Sample[], facts: ImageFacts): Row[] {
  const by = (n: string): Sample[] => samples.filter((s) => s.name === n);
  const qimg = by('qemu-img');
  const qMs = qimg.length ? median(qimg.map((s) => s.wallMs)) : NaN;
  const qDur = qimg.length ? median(qimg.map((s) => s.wallMs + s.syncMs)) : NaN;
  const mk = (name: string, ss: Sample[], ms: number[], durable: number[]): Row => {
    const med = median(ms);
    const alloc = median(ss.map((s) => s.allocated));
    const ratioTime = Number.isFinite(qMs) ? med / qMs : null;
    const ratioBytes = alloc / facts.dataBytes;
    const judged = name === 'vmbackup';
    return {
      name, runs: ss.length, medianMs: med, minMs: Math.min(...ms), maxMs: Math.max(...ms), mibPerSec: facts.dataBytes / MiB / (med / 1000),
      medianDurableMs: median(durable), ratioDurable: Number.isFinite(qDur) && durable.every(Number.isFinite) ? median(durable) / qDur : null,
      allocated: alloc, apparent: median(ss.map((s) => s.apparent)), ratioTime, ratioBytes,
      timeTarget: judged && ratioTime !== null ? (ratioTime <= TARGET_TIME ? 'PASS' : 'FAIL') : '-',
      bytesTarget: ratioBytes <= TARGET_BYTES ? 'PASS' : 'FAIL',
    };
  };
  const out: Row[] = [];
  for (const n of ALL) {
    const ss = by(n);
    if (!ss.length) continue;
    out.push(mk(n, ss, ss.map((s) => s.wallMs), ss.map((s) => s.wallMs + s.syncMs)));
    if (n === 'vmbackup') {
      const r = mk('vmbackup copy+hash', ss, ss.map((s) => s.vmb?.durations.copy_ms ?? NaN), ss.map(() => NaN));
      r.timeTarget = '-';
      out.push(r);
    }
  }
  return out;
}

const fmtBytes = (n: number): string => (n >= GiB ? `${(n / GiB).toFixed(3)} GiB` : `${(n / MiB).toFixed(1)} MiB`);

function table(rs: Row[]): string {
  const head = ['contender', 'median s', 'min s', 'max s', 'MiB/s', 'bytes written', 'time/qemu-img', 'bytes/allocated', `time ≤${TARGET_TIME}x`, `bytes ≤${TARGET_BYTES}x`, '+fsync s', '(+fsync)/qemu-img'];
  const body = rs.map((r) => [
    r.name, (r.medianMs / 1000).toFixed(2), (r.minMs / 1000).toFixed(2), (r.maxMs / 1000).toFixed(2), r.mibPerSec.toFixed(0),
    `${r.allocated} (${fmtBytes(r.allocated)})`, r.ratioTime === null ? '-' : `${r.ratioTime.toFixed(2)}x`, `${r.ratioBytes.toFixed(4)}x`,
    r.timeTarget, r.name === 'vmbackup copy+hash' ? '-' : r.bytesTarget,
    Number.isFinite(r.medianDurableMs) ? (r.medianDurableMs / 1000).toFixed(2) : '-', r.ratioDurable === null ? '-' : `${r.ratioDurable.toFixed(2)}x`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([1, 2, 3, 4, 5, 6, 7, 10, 11]);
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (right.has(i) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' | ')} |`;
  const sep = `|${w.map((x, i) => (right.has(i) ? `${'-'.repeat(x + 1)}:` : `:${'-'.repeat(x + 1)}`)).join('|')}|`;
  return [line(head), sep, ...body.map(line)].join('\n');
}

/** Where vmbackup's time goes: medians of each step, the manifest's durations, and what is left. */
function breakdown(samples: Sample[], cliStartMs: number[]): { lines: string[]; data: Record<string, number> } {
  const v = samples.filter((s) => s.name === 'vmbackup' && s.vmb);
  if (!v.length) return { lines: [], data: {} };
  const data: Record<string, number> = {};
  const fl = samples.filter((s) => s.floor);
  if (fl.length) {
    data['floor: qemu-img convert (engine argv)'] = median(fl.map((s) => s.floor!.convertMs));
    data['floor: sha256File of the result'] = median(fl.map((s) => s.floor!.hashMs));
  }
  const stepNames = [...new Set(v.flatMap((s) => Object.keys(s.vmb!.steps)))];
  for (const n of stepNames) data[`step ${n}`] = median(v.map((s) => s.vmb!.steps[n] ?? 0));
  const copyMs = median(v.map((s) => s.vmb!.durations.copy_ms ?? 0));
  data['manifest copy_ms (copies + hashes)'] = copyMs;
  data['  of which hashing after the last copy'] = median(v.map((s) => (s.vmb!.durations.copy_ms ?? 0) - Object.entries(s.vmb!.steps).filter(([k]) => k.startsWith('copy-')).reduce((a, [, ms]) => a + ms, 0)));
  data['manifest commit_ms'] = median(v.map((s) => s.vmb!.durations.commit_ms ?? 0));
  data['manifest total_ms (run start → manifest)'] = median(v.map((s) => s.vmb!.durations.total_ms ?? 0));
  const stepSum = median(v.map((s) => Object.values(s.vmb!.steps).reduce((a, b) => a + b, 0)));
  data['sum of steps'] = stepSum;
  data['wall (spawn → exit)'] = median(v.map((s) => s.wallMs));
  data['wall − sum of steps (node start, policy load, state store, hashing, manifest)'] = median(v.map((s) => s.wallMs - Object.values(s.vmb!.steps).reduce((a, b) => a + b, 0)));
  if (cliStartMs.length) data['`node dist/src/main.js --version` (start-up floor)'] = median(cliStartMs);
  if (fl.length) data['wall − floor wall (orchestration above copy+hash)'] = data['wall (spawn → exit)']! - median(fl.map((s) => s.wallMs));
  const w = Math.max(...Object.keys(data).map((k) => k.length));
  return { lines: Object.entries(data).map(([k, ms]) => `  ${k.padEnd(w)}  ${(ms / 1000).toFixed(3)} s`), data };
}

// ---------------------------------------------------------------------------------------------
// Main

let cleanupState: { vm: BenchVm; dir: string; keep: boolean } | undefined;

function cleanup(): void {
  if (!cleanupState) return;
  const { vm, dir, keep } = cleanupState;
  cleanupState = undefined;
  for (const c of liveChildren) c.kill('SIGTERM');
  const done = teardown(vm, keep ? undefined : dir);
  if (done.length) log(`cleanup: ${done.join(', ')}${keep ? ` (kept ${dir})` : ''}`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--ssh')) return sshBench(process.argv.slice(2)); // the ssh path: bench/backup-ssh.ts
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new BenchFailure('needs root (libvirt qemu:///system, drop_caches)');
  const lab = loadLab();
  if (!lab) throw new BenchFailure('no lab is up (run: sudo test/lab/up.sh)');
  checkTools(o);
  const dataBytes = o.dataMiB * MiB;
  const virtualBytes = (o.virtualGiB ?? Math.max(2, Math.ceil((2 * dataBytes) / GiB))) * GiB;
  if (dataBytes > virtualBytes) throw new BenchFailure(`--data-mib ${o.dataMiB} does not fit a ${virtualBytes / GiB} GiB disk`);

  claimDir(o.dir);
  const vm = benchVm(o.dir);
  cleanupState = { vm, dir: o.dir, keep: o.keep };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { log(`${sig}: cleaning up`); cleanup(); process.exit(130); });
  }
  const left = teardown(vm, undefined);
  if (left.length) log(`removed a leftover bench VM: ${left.join(', ')}`);

  const out = join(o.dir, 'out');
  const logs = join(o.dir, 'logs');
  const repo = join(o.dir, 'repo');
  const state = join(o.dir, 'state');
  const vmbStorage = join(out, 'vmbackup-storage');
  rmSync(out, { recursive: true, force: true });
  for (const d of [out, logs, vmbStorage]) mkdirSync(d, { recursive: true });
  const sameFs = statSync(out).dev === statSync(lab.storage.dir).dev;
  const virtType = lab.vms.find((v) => v.name === lab.roles.noos)?.virtType ?? 'qemu';

  log(`making ${vm.name}: ${virtualBytes / GiB} GiB qcow2 with ${o.dataMiB} MiB of pattern data (${virtType})`);
  createVm(vm, virtualBytes, dataBytes, virtType);
  const facts = imageFacts(vm.disk, true);
  writeRepo(lab, repo, vmbStorage, join(o.dir, 'ssh'));
  const e: Env = { lab, o, vm, out, logs, repo, state, vmbStorage, facts, virtType };
  const val = sh([process.execPath, CLI, 'validate', '--repo', repo], { allowFailure: true });
  if (val.code !== 0) throw new BenchFailure(`the bench policy repo does not validate:\n${val.stdout}${val.stderr}`);

  // Does dropping the page cache work here? Read the disk, drop, look again.
  let drops = false;
  let dropNote = 'disabled (--no-drop-caches)';
  if (o.dropCaches) {
    sh(['cat', vm.disk], { allowFailure: true });
    const before = residentBytes(vm.disk);
    drops = dropCaches();
    const after = residentBytes(vm.disk);
    dropNote = drops ? `works: disk image resident ${fmtBytes(before)} → ${fmtBytes(after)}` : 'not permitted here: relying on the rotating order alone';
  }
  log(`drop_caches ${dropNote}`);

  const loadBefore = loadavg();
  const samples: Sample[] = [];
  const verified: Record<string, string> = {};
  const order: Name[][] = [];
  const cliStart: number[] = [];
  for (let run = 1; run <= o.runs; run++) {
    // Rotate the order every run and reverse it every other run, so that no contender always goes
    // first, or always right after the same other one (whose dirty pages it would inherit).
    const k = (run - 1) % o.contenders.length;
    const seq = [...o.contenders.slice(k), ...o.contenders.slice(0, k)];
    if (run % 2 === 0) seq.reverse();
    order.push(seq);
    for (const [position, name] of seq.entries()) {
      if (drops) dropCaches();
      warmTools(e);
      const cachedBeforeBytes = residentBytes(vm.disk);
      const r = await runContender(e, name, run);
      const syncMs = fsyncTree(r.path);
      const b = bytesUnder(r.path);
      samples.push({ name, run, position, wallMs: r.wallMs, syncMs, allocated: b.allocated, apparent: b.apparent, files: b.files, cachedBeforeBytes, ...(r.vmb ? { vmb: r.vmb } : {}), ...(r.floor ? { floor: r.floor } : {}) });
      log(`run ${run}/${o.runs} ${name.padEnd(15)} ${(r.wallMs / 1000).toFixed(2)} s (+ fsync ${(syncMs / 1000).toFixed(2)} s), ${fmtBytes(b.allocated)} allocated${r.vmb ? `, copy+hash ${(r.vmb.durations.copy_ms! / 1000).toFixed(2)} s` : ''}`);
      if (o.verify && !verified[name]) verified[name] = await verify(e, name, r.path, r.vmb);
      if (!o.keep) rmSync(r.path, { recursive: true, force: true });
    }
    const t = await timed([process.execPath, CLI, '--version'], join(logs, `cli-version-r${run}`));
    cliStart.push(t.wallMs);
  }
  const loadAfter = loadavg();

  const rs = rows(samples, facts);
  const bd = breakdown(samples, cliStart);
  const vmbRow = rs.find((r) => r.name === 'vmbackup');
  const result = {
    benchmark: 'backup-paths', node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model,
    qemuImg: sh(['qemu-img', '--version']).stdout.split('\n')[0], virtnbdbackup: o.contenders.includes('virtnbdbackup') ? sh(['virtnbdbackup', '--version']).stdout.trim() || sh(['virtnbdbackup', '--version']).stderr.trim() : null,
    loadavgBefore: loadBefore.map((x) => +x.toFixed(2)), loadavgAfter: loadAfter.map((x) => +x.toFixed(2)),
    options: o, virtType, disk: { path: vm.disk, ...facts }, output: { dir: out, sameFilesystemAsLabStorage: sameFs },
    dropCaches: { enabled: o.dropCaches, works: drops, note: dropNote }, order,
    targets: {
      time: { max: TARGET_TIME, vmbackup: vmbRow?.ratioTime ?? null, result: vmbRow?.timeTarget ?? '-' },
      bytes: { max: TARGET_BYTES, of: 'qemu-img map data bytes', vmbackup: vmbRow?.ratioBytes ?? null, result: vmbRow?.bytesTarget ?? '-' },
    },
    rows: rs, vmbackupBreakdownMs: bd.data, verified, samples,
  };
  cleanup();

  if (o.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const p = (s = ''): boolean => process.stdout.write(s + '\n');
  p(`\nvmbackup backup-paths benchmark: ${vm.name} (${virtType}), vda ${fmtBytes(facts.virtualBytes)} virtual, ${fmtBytes(facts.dataBytes)} of data in ${facts.dataExtents} extents`
    + ` (qemu-img map), actual-size ${facts.actualBytes}; median of ${o.runs} run(s); node ${process.version}; ${cpus().length} CPUs`);
  p(`output: ${out} (${sameFs ? 'same filesystem as' : 'NOT the same filesystem as'} the lab storage ${lab.storage.dir}); drop_caches ${dropNote}; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} → ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
  p(`order per run: ${order.map((s) => s.join(' → ')).join(' | ')}\n`);
  p(table(rs));
  p(`\nbytes/allocated is against the disk's data bytes (${facts.dataBytes}); against qemu-img actual-size (${facts.actualBytes}) vmbackup is ${vmbRow ? (vmbRow.allocated / facts.actualBytes).toFixed(4) : '-'}x.`);
  if (vmbRow) {
    p(`vmbackup targets: time ${vmbRow.ratioTime?.toFixed(2)}x qemu-img (≤ ${TARGET_TIME}x): ${vmbRow.timeTarget}; bytes ${vmbRow.ratioBytes.toFixed(4)}x allocated (≤ ${TARGET_BYTES}x): ${vmbRow.bytesTarget}`);
    p('\nwhere vmbackup\'s time goes (medians):');
    for (const l of bd.lines) p(l);
  }
  if (Object.keys(verified).length) {
    p('\nverified (first run, untimed):');
    for (const [k, v] of Object.entries(verified)) p(`  ${k}: ${v}`);
  }
}

main().catch((err: unknown) => {
  try { cleanup(); } catch (e) { log(`cleanup failed: ${(e as Error).message}`); }
  process.stderr.write(`bench: ${err instanceof BenchFailure ? err.message : (err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
