// One timed backup for bench/incremental.ts, by either contender, and what it wrote: wall time
// from spawn to exit, then (untimed) the fsync of the output, the allocated bytes (st_blocks × 512)
// of every file it created or grew, the data file, and an optional check of the result.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchFailure, bytesUnder, fsyncTree, sh, timed, type Timed } from './backup-exec.js';
import type { BenchVm } from './backup-vm.js';
import { run } from './incremental-vm.js';

export interface RunEnv { cli: string; repo: string; state: string; storage: string; logs: string; vnbDir: string; verify: boolean }

export interface Measure {
  wallMs: number;
  /** fsync(2) of the output after the contender exited (not in wallMs). */
  syncMs: number;
  /** Allocated bytes (st_blocks × 512) of every file the run created, plus the growth of files it appended to. */
  bytesWritten: number;
  /** vmbackup: the point's disk image, allocated; virtnbdbackup: its `.data` file, st_size. */
  dataFileBytes: number;
  /** vmbackup: the image's own data extents (`qemu-img map`, depth 0); the manifest's changed_bytes. */
  mapDataBytes?: number;
  changedBytesManifest?: number;
  backupId?: string;
  kind?: string;
  durations?: Record<string, number>;
  /** `step done` lines of vmbackup's log: step → ms; plus, from the log's and manifest's clocks,
   *  `startup` (spawn → run started), `after-publish` (publish done → `backup finished`: checkpoint
   *  tidying, run record) and `exit` (`backup finished` → process exit). */
  steps?: Record<string, number>;
  verified?: string;
}

function failed(name: string, t: Timed): never {
  throw new BenchFailure(`${name} failed (exit ${t.exitCode ?? t.signal}):\n  ${(t.stderr || t.stdout).trim().split('\n').slice(-15).join('\n  ')}`);
}

/** path → allocated bytes of every file under dir. */
function allocations(dir: string): Map<string, number> {
  const m = new Map<string, number>();
  const walk = (p: string): void => {
    const s = lstatSync(p, { throwIfNoEntry: false });
    if (!s) return;
    if (s.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    else if (s.isFile()) m.set(p, s.blocks * 512);
  };
  walk(dir);
  return m;
}

function ownDataBytes(image: string): number {
  const map = JSON.parse(sh(['qemu-img', 'map', '-U', '--output=json', '-f', 'qcow2', '--', image]).stdout) as { depth: number; data: boolean; length: number }[];
  return map.filter((e) => e.depth === 0 && e.data).reduce((n, e) => n + e.length, 0);
}

/** `vmbackup backup VM --json` (the real CLI); the point must be of the expected kind. */
export async function runVmbackup(e: RunEnv, vm: BenchVm, tag: string, want: 'full' | 'incremental', changed: number | undefined): Promise<Measure> {
  const spawnedAt = Date.now();
  const t = await timed([process.execPath, e.cli, 'backup', vm.name, '--repo', e.repo, '--state-dir', e.state, '--json'], join(e.logs, `vmbackup-${tag}`), { ...process.env, NO_COLOR: '1' });
  if (t.exitCode !== 0) failed('vmbackup', t);
  const r = JSON.parse(t.stdout) as { status: string; backupId?: string; warnings?: string[] };
  if (r.status !== 'ok' || !r.backupId) failed('vmbackup', t);
  const point = join(e.storage, 'local', vm.name, r.backupId);
  const syncMs = fsyncTree(point);
  const m = JSON.parse(readFileSync(join(point, 'backup-metadata.json'), 'utf8')) as { started: string; kind?: string; durations_ms: Record<string, number>; files: { path: string; target?: string; changed_bytes?: number }[] };
  const kind = m.kind ?? 'full';
  if (kind !== want) throw new BenchFailure(`vmbackup took a ${kind} where a ${want} was expected; warnings: ${(r.warnings ?? []).join(' | ')}`);
  const img = m.files.find((f) => f.target === 'vda') ?? m.files.find((f) => f.path.endsWith('.qcow2'));
  if (!img) throw new BenchFailure(`vmbackup's manifest in ${point} lists no vda image`);
  const imgPath = join(point, img.path);
  const steps: Record<string, number> = {};
  let published = NaN;
  let finished = NaN;
  for (const line of t.stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as { msg?: string; step?: string; ms?: number; time?: string };
      if (j.msg === 'step done' && j.step && typeof j.ms === 'number') steps[j.step] = (steps[j.step] ?? 0) + j.ms;
      if (j.msg === 'step done' && j.step === 'publish') published = Date.parse(j.time ?? '');
      if (j.msg === 'backup finished') finished = Date.parse(j.time ?? '');
    } catch { /* not a log line */ }
  }
  steps.startup = Date.parse(m.started) - spawnedAt;
  if (Number.isFinite(published) && Number.isFinite(finished)) {
    steps['after-publish'] = finished - published;
    steps.exit = spawnedAt + t.wallMs - finished;
  }
  let verified: string | undefined;
  if (e.verify) {
    // The VM is idle between the writes and here: the point (through its backing chain) is the disk.
    await run(['qemu-img', 'compare', '-U', '-f', 'qcow2', '-F', 'qcow2', '--', imgPath, vm.disk])
      .catch((err: Error) => { throw new BenchFailure(`vmbackup ${tag}: ${imgPath} differs from the live disk: ${err.message}`); });
    verified = `qemu-img compare of the point (with its backing chain) against the live disk: identical`;
  }
  const mapData = ownDataBytes(imgPath);
  if (changed !== undefined && mapData < changed) throw new BenchFailure(`vmbackup ${tag}: the image holds ${mapData} bytes of data, fewer than the ${changed} changed`);
  return {
    wallMs: t.wallMs, syncMs, bytesWritten: bytesUnder(point).allocated, dataFileBytes: lstatSync(imgPath).blocks * 512, mapDataBytes: mapData,
    ...(img.changed_bytes !== undefined ? { changedBytesManifest: img.changed_bytes } : {}),
    backupId: r.backupId, kind, durations: m.durations_ms, steps, ...(verified ? { verified } : {}),
  };
}

/** `virtnbdbackup -d VM -l full|inc -o DIR` (pull mode over NBD; inc appends to the full's DIR). */
export async function runVirtnbdbackup(e: RunEnv, vm: BenchVm, tag: string, level: 'full' | 'inc', changed: number | undefined): Promise<Measure> {
  const before = allocations(e.vnbDir); // empty before the full (-o must not exist for a full)
  const t = await timed(['virtnbdbackup', '-d', vm.name, '-l', level, '-o', e.vnbDir, '--noprogress', '-U', 'qemu:///system'], join(e.logs, `virtnbdbackup-${tag}`));
  if (t.exitCode !== 0) failed('virtnbdbackup', t);
  const syncMs = fsyncTree(e.vnbDir);
  const after = allocations(e.vnbDir);
  let bytesWritten = 0;
  for (const [p, a] of after) bytesWritten += Math.max(0, a - (before.get(p) ?? 0));
  const data = [...after.keys()].filter((p) => !before.has(p) && /^vda\..*data$/.test(p.slice(p.lastIndexOf('/') + 1)));
  if (data.length !== 1) throw new BenchFailure(`virtnbdbackup ${tag}: expected one new vda data file in ${e.vnbDir}, found ${data.length}`);
  const size = lstatSync(data[0]!).size;
  let verified: string | undefined;
  if (e.verify && changed !== undefined) {
    if (size < changed) throw new BenchFailure(`virtnbdbackup ${tag}: ${data[0]} is ${size} bytes, less than the ${changed} changed`);
    verified = `${data[0]!.slice(data[0]!.lastIndexOf('/') + 1)} holds ${size} bytes (stream format, ≥ the changed bytes)`;
  }
  return { wallMs: t.wallMs, syncMs, bytesWritten, dataFileBytes: size, ...(verified ? { verified } : {}) };
}
