// Benchmark: incremental backups, vmbackup (the real CLI, push mode on libvirt checkpoints,
// `incremental.full_every: 5`) against virtnbdbackup (`-l full`, then `-l inc`, pull mode over NBD)
// on the same changes in the same run. See bench/README.md ("Incremental backups").
//
//   npm run bench:incremental -- [--rounds N (1)] [--json] [--keep] [--dir DIR] [--seed N] [--no-verify]
//
// A 4 GiB qcow2 with 2 GiB of pattern data is cloned into two OS-less TCG VMs (`i14-vmb-<pid>`,
// `i14-vnb-<pid>`), one per contender, so each keeps only its own checkpoints. Each contender takes
// a full; then 2% and then 10% of the data is rewritten (1 MiB writes at seeded offsets, through
// QEMU's monitor, identically on both VMs) and each takes an incremental; --rounds N repeats the
// 2%/10% pair N times in the same chain (full_every = 2N+1) and the time target uses the medians. Needs root and the lab.
// Everything (VMs, checkpoint metadata, images, outputs) is removed at the end, also on failure or
// SIGINT/SIGTERM, unless --keep. Exit status: 0 whatever the figures, 1 only when something crashed.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadLab } from '../test/lab/lab.js';
import { labPolicy } from '../test/lab/policy-repo.js';
import { formatBytes } from '../src/core/notify-format.js';
import { BenchFailure, GiB, liveChildren, log, MiB, sh, which } from './backup-exec.js';
import { changedClusterBytes, checkpointsOf, makeBaseImage, monitorWrite, removeDir, removeVm, rewriteOffsets, run, scratchVm, startVm } from './incremental-vm.js';
import { runVirtnbdbackup, runVmbackup, type Measure } from './incremental-run.js';
import { report, targets, type StepResult } from './incremental-report.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // <root>/dist/bench
const CLI = join(HERE, '..', 'src', 'main.js');
const MARKER = '.vmbackup-bench-incremental';
const VIRTUAL = 4 * GiB;
const DATA = 2 * GiB;
const STEPS = [{ label: '2%', fraction: 0.02, byte: 0x5a }, { label: '10%', fraction: 0.10, byte: 0x6b }] as const;

interface Options { json: boolean; keep: boolean; dir: string; seed: number; verify: boolean; rounds: number }

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, keep: false, dir: '/var/tmp/vmbackup-bench-incremental', seed: 14, verify: true, rounds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') o.json = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--no-verify') o.verify = false;
    else if (a === '--dir') o.dir = resolve(argv[++i] ?? '.');
    else if (a === '--rounds') {
      o.rounds = Number(argv[++i]);
      if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 5) throw new BenchFailure('--rounds needs an integer 1..5');
    } else if (a === '--seed') {
      o.seed = Number(argv[++i]);
      if (!Number.isInteger(o.seed)) throw new BenchFailure('--seed needs an integer');
    } else throw new BenchFailure(`unknown option ${a}\nusage: node dist/bench/incremental.js [--rounds N] [--json] [--keep] [--dir DIR] [--seed N] [--no-verify]`);
  }
  return o;
}

let cleanupState: { names: string[]; dir: string; keep: boolean } | undefined;

function cleanup(): void {
  if (!cleanupState) return;
  const { names, dir, keep } = cleanupState;
  cleanupState = undefined;
  for (const c of liveChildren) c.kill('SIGTERM');
  const done = [...names.flatMap(removeVm), ...(keep ? [] : removeDir(dir))];
  if (done.length) log(`cleanup: ${done.join(', ')}${keep ? ` (kept ${dir})` : ''}`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new BenchFailure('needs root (libvirt qemu:///system)');
  const lab = loadLab();
  if (!lab) throw new BenchFailure('no lab is up (run: sudo test/lab/up.sh)');
  const missing = ['virsh', 'qemu-img', 'qemu-io', 'virtnbdbackup'].filter((c) => !which(c));
  if (missing.length) throw new BenchFailure(`missing: ${missing.join(', ')} (bash bench/setup.sh installs them)`);
  if (!existsSync(CLI)) throw new BenchFailure(`${CLI} is missing: run npm run build`);
  if (existsSync(o.dir) && readdirSync(o.dir).length && !existsSync(join(o.dir, MARKER))) {
    throw new BenchFailure(`${o.dir} exists and is not this bench's dir (no ${MARKER}); choose another --dir`);
  }
  const vmb = scratchVm(o.dir, `i14-vmb-${process.pid}`);
  const vnb = scratchVm(o.dir, `i14-vnb-${process.pid}`);
  cleanupState = { names: [vmb.name, vnb.name], dir: o.dir, keep: o.keep };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { log(`${sig}: cleaning up`); cleanup(); process.exit(130); });
  }
  removeDir(o.dir);
  for (const d of ['images', 'logs', 'repo', 'state', 'vmbackup-storage']) mkdirSync(join(o.dir, d), { recursive: true });
  writeFileSync(join(o.dir, MARKER), 'bench/incremental.ts work dir; removed at the end unless --keep\n');
  const virtType = lab.vms.find((v) => v.name === lab.roles.noos)?.virtType ?? 'qemu';

  log(`base image: ${VIRTUAL / GiB} GiB qcow2, ${DATA / GiB} GiB of pattern data (qemu-io)`);
  const base = join(o.dir, 'images', 'base.qcow2');
  const extents = await makeBaseImage(base, VIRTUAL, DATA);
  await startVm(vmb, base, virtType);
  await startVm(vnb, base, virtType);
  log(`VMs ${vmb.name} (vmbackup) and ${vnb.name} (virtnbdbackup) running (${virtType})`);

  const repo = join(o.dir, 'repo');
  const fullEvery = 2 * o.rounds + 1; // one chain: the full, then every incremental of the run
  const storage = join(o.dir, 'vmbackup-storage');
  const p = labPolicy(lab, {
    storageRoot: storage, controlDir: join(o.dir, 'ssh'),
    extraVms: [{ name: vmb.name, hypervisor: 'local', method: 'snapshot', priority: 10, schedule: 'weekly', retention: { keep_last: 10 }, incremental: { full_every: fullEvery } }],
  }) as { hypervisors: { name: string }[]; vms: { name: string }[] };
  p.hypervisors = p.hypervisors.filter((h) => h.name === 'local');
  p.vms = p.vms.filter((v) => v.name === vmb.name);
  writeFileSync(join(repo, 'bench.yaml'), '# written by bench/incremental.ts\n' + stringify(p));
  await run([process.execPath, CLI, 'validate', '--repo', repo]).catch((e: Error) => { throw new BenchFailure(`the bench policy repo does not validate: ${e.message}`); });

  const env = { cli: CLI, repo, state: join(o.dir, 'state'), storage, logs: join(o.dir, 'logs'), vnbDir: join(o.dir, 'virtnbdbackup'), verify: o.verify };
  const loadBefore = loadavg();
  const fullV = await runVmbackup(env, vmb, 'full', 'full', undefined);
  const fullN = await runVirtnbdbackup(env, vnb, 'full', 'full', undefined);
  log(`full: vmbackup ${(fullV.wallMs / 1000).toFixed(2)} s ${formatBytes(fullV.bytesWritten)}; virtnbdbackup ${(fullN.wallMs / 1000).toFixed(2)} s ${formatBytes(fullN.bytesWritten)}`);

  const steps: StepResult[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (const [i, s] of STEPS.entries()) {
      const count = Math.ceil((DATA / MiB) * s.fraction);
      const offsets = rewriteOffsets(extents, count, o.seed + 100 * round + i);
      const changed = changedClusterBytes(offsets, MiB);
      const byte = s.byte + round - 1;
      const t0 = performance.now();
      for (const off of offsets) { await monitorWrite(vmb.name, byte, off, MiB); await monitorWrite(vnb.name, byte, off, MiB); }
      const tag = `${s.label}#${round}`;
      log(`${tag}: rewrote ${count} × 1 MiB on both VMs in ${((performance.now() - t0) / 1000).toFixed(1)} s (${formatBytes(changed)} changed clusters)`);
      // Who goes first alternates per round and per step, so neither always inherits the other's dirty page cache.
      const order = (round + i) % 2 === 1 ? ['virtnbdbackup', 'vmbackup'] : ['vmbackup', 'virtnbdbackup'];
      const got: Partial<Record<string, Measure>> = {};
      for (const n of order) {
        got[n] = n === 'vmbackup' ? await runVmbackup(env, vmb, `inc-${tag}`, 'incremental', changed) : await runVirtnbdbackup(env, vnb, `inc-${tag}`, 'inc', changed);
        log(`${tag}: ${n} ${(got[n]!.wallMs / 1000).toFixed(2)} s, ${formatBytes(got[n]!.bytesWritten)} written`);
      }
      steps.push({ step: s.label, round, writes: count, writtenBytes: count * MiB, changedBytes: changed, vmbackup: got.vmbackup!, virtnbdbackup: got.virtnbdbackup!, order });
    }
  }
  const loadAfter = loadavg();
  const checkpoints = { vmbackup: checkpointsOf(vmb.name), virtnbdbackup: checkpointsOf(vnb.name) };
  const tg = targets(STEPS.map((s) => s.label), steps);
  const result = {
    benchmark: 'incremental', node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, virtType,
    qemuImg: sh(['qemu-img', '--version']).stdout.split('\n')[0], virtnbdbackup: (sh(['virtnbdbackup', '--version']).stdout || '').trim(),
    loadavgBefore: loadBefore.map((x) => +x.toFixed(2)), loadavgAfter: loadAfter.map((x) => +x.toFixed(2)),
    options: o, disk: { virtualBytes: VIRTUAL, dataBytes: DATA, extents: extents.length }, fullEvery,
    full: { vmbackup: fullV, virtnbdbackup: fullN }, steps, targets: tg, checkpointsAtEnd: checkpoints,
  };
  cleanup();
  if (o.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  report(result.full, steps, tg, `${VIRTUAL / GiB} GiB qcow2, ${DATA / GiB} GiB of data in ${extents.length} extents; ${virtType}; node ${process.version}; ${cpus().length} CPUs; load ${loadBefore.map((x) => x.toFixed(2)).join(' ')} → ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`, checkpoints);
}

main().catch((err: unknown) => {
  try { cleanup(); } catch (e) { log(`cleanup failed: ${(e as Error).message}`); }
  process.stderr.write(`bench: ${err instanceof BenchFailure ? err.message : (err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

