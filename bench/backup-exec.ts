// Helpers for bench/backup-paths.ts: timed child processes, allocated bytes of an output, the
// page cache, and the facts of a qcow2 image (qemu-img info/map). No project code is used here,
// so the contenders are measured with the same yardstick.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, fsyncSync, lstatSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** A reported failure (bad option, crashed contender, missing tool): message only, no stack. */
export class BenchFailure extends Error {}

export function log(msg: string): void { process.stderr.write(`bench: ${msg}\n`); }

/** Children running now, so a signal handler can stop them before tearing the bench VM down. */
export const liveChildren = new Set<ChildProcess>();

export interface Timed { wallMs: number; exitCode: number | null; signal: string | null; stdout: string; stderr: string }

/**
 * Runs argv, timed from spawn to exit in this process; stdout and stderr go to files (`<logBase>.out`
 * and `.err`), not through a pipe to us, so a chatty contender costs nothing extra.
 */
export async function timed(argv: readonly string[], logBase: string, env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty argv');
  const outFile = `${logBase}.out`;
  const errFile = `${logBase}.err`;
  const out = openSync(outFile, 'w');
  const err = openSync(errFile, 'w');
  const t0 = performance.now();
  const child = spawn(file, args, { stdio: ['ignore', out, err], env });
  liveChildren.add(child);
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (c, s) => res({ code: c, signal: s }));
  }).finally(() => liveChildren.delete(child));
  const wallMs = performance.now() - t0;
  closeSync(out);
  closeSync(err);
  return { wallMs, exitCode: code, signal, stdout: readFileSync(outFile, 'utf8'), stderr: readFileSync(errFile, 'utf8') };
}

/** Runs a short untimed command; throws with its stderr unless it succeeds (or `allowFailure`). */
export function sh(argv: readonly string[], opts: { allowFailure?: boolean; input?: string } = {}): { code: number; stdout: string; stderr: string } {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty argv');
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  if (r.error) {
    if (opts.allowFailure) return { code: 127, stdout: '', stderr: r.error.message };
    throw new BenchFailure(`${argv.join(' ')}: ${r.error.message}`);
  }
  const code = r.status ?? 1;
  if (code !== 0 && !opts.allowFailure) throw new BenchFailure(`${argv.join(' ')} exited ${code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  return { code, stdout: r.stdout, stderr: r.stderr };
}

export function which(cmd: string): string | undefined {
  const r = sh(['sh', '-c', `command -v ${cmd}`], { allowFailure: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Bytes under `path` (a file or a directory tree): allocated (st_blocks × 512) and apparent (st_size). */
export function bytesUnder(path: string): { allocated: number; apparent: number; files: number } {
  const acc = { allocated: 0, apparent: 0, files: 0 };
  const walk = (p: string): void => {
    const s = lstatSync(p);
    if (s.isDirectory()) {
      for (const n of readdirSync(p)) walk(join(p, n));
    } else if (s.isFile()) {
      acc.allocated += s.blocks * 512;
      acc.apparent += s.size;
      acc.files++;
    }
  };
  walk(path);
  return acc;
}

/**
 * fsync(2) of every file under `path`, then of the directories: what it still costs to make the
 * output durable after the contender exited (none of them syncs; qemu-img leaves its output dirty
 * in the page cache). Returns the wall time in ms.
 */
export function fsyncTree(path: string): number {
  const t0 = performance.now();
  const walk = (p: string): void => {
    const s = lstatSync(p);
    if (s.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    if (!s.isFile() && !s.isDirectory()) return;
    const fd = openSync(p, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  };
  walk(path);
  return performance.now() - t0;
}

/**
 * `sync; echo 3 > /proc/sys/vm/drop_caches`. Returns false when the kernel does not let us (not
 * root, or a read-only /proc in a container): the caller then relies on rotating the order.
 */
export function dropCaches(): boolean {
  sh(['sync']);
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

export interface ImageFacts {
  virtualBytes: number;
  /** `qemu-img info` actual-size: the image file's allocated bytes (data plus qcow2 metadata). */
  actualBytes: number;
  /** Sum of `qemu-img map` extents with data that is not known-zero: what the guest has written. */
  dataBytes: number;
  dataExtents: number;
}

export function imageFacts(path: string, shared = false): ImageFacts {
  const u = shared ? ['-U'] : [];
  const info = JSON.parse(sh(['qemu-img', 'info', ...u, '-f', 'qcow2', '--output=json', path]).stdout) as { 'virtual-size': number; 'actual-size': number };
  const map = JSON.parse(sh(['qemu-img', 'map', ...u, '-f', 'qcow2', '--output=json', path]).stdout) as { length: number; data: boolean; zero: boolean }[];
  const data = map.filter((e) => e.data && !e.zero);
  return { virtualBytes: info['virtual-size'], actualBytes: info['actual-size'], dataBytes: data.reduce((n, e) => n + e.length, 0), dataExtents: data.length };
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
