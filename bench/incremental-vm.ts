// The two scratch VMs of bench/incremental.ts (one per contender, so neither sees the other's
// checkpoints): one 4 GiB qcow2 filled with pattern data by qemu-io, cloned, each clone an OS-less
// TCG domain on the lab's local libvirt; the seeded rewrites both get through QEMU's monitor; and
// a synchronous teardown (exit and signal handlers run it) that also drops checkpoint metadata.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchFailure, liveChildren, MiB, sh } from './backup-exec.js';
import { dataExtents, domainXml, URI, vmExists, type BenchVm } from './backup-vm.js';

export const CLUSTER = 64 * 1024;
const DRIVE = '/machine/peripheral/virtio-disk0/virtio-backend';

export const virshQ = (...args: string[]): string => sh(['virsh', '-q', '-c', URI, ...args]).stdout;

/**
 * Runs argv without blocking the event loop; throws unless it succeeds. The long commands go
 * through here: node dies of a SIGTERM that arrives during spawnSync, skipping the cleanup.
 */
export function run(argv: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const c = execFile(argv[0]!, argv.slice(1), { maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      liveChildren.delete(c);
      if (err) rej(new BenchFailure(`${argv.join(' ')}: ${(stderr || stdout || err.message).trim().split('\n').slice(-5).join(' | ')}`));
      else res({ stdout, stderr });
    });
    liveChildren.add(c);
  });
}

export function scratchVm(dir: string, name: string): BenchVm {
  const imagesDir = join(dir, 'images');
  return { name, dir, imagesDir, disk: join(imagesDir, `${name}-vda.qcow2`), overlay: join(imagesDir, `${name}-vda.unused.qcow2`) };
}

/** The base image: `virtualBytes` with `dataBytes` of pattern data in ≤ 8 MiB extents spread over it. */
export async function makeBaseImage(path: string, virtualBytes: number, dataBytes: number): Promise<{ offset: number; length: number }[]> {
  await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '--', path, String(virtualBytes)]);
  const ext = dataExtents(virtualBytes, dataBytes);
  const cmds = ext.flatMap((e) => ['-c', `write -P 0x${e.byte.toString(16).padStart(2, '0')} ${e.offset} ${e.length}`]);
  await run(['qemu-io', '-f', 'qcow2', ...cmds, '--', path]);
  return ext.map(({ offset, length }) => ({ offset, length }));
}

/** Copies the base image to the VM's disk, defines and starts the VM (TCG or KVM as the lab). */
export async function startVm(vm: BenchVm, base: string, virtType: 'kvm' | 'qemu'): Promise<void> {
  mkdirSync(vm.imagesDir, { recursive: true });
  await run(['cp', '--sparse=always', '--', base, vm.disk]);
  const xml = join(vm.dir, `${vm.name}.xml`);
  writeFileSync(xml, domainXml(vm, virtType));
  virshQ('define', xml);
  virshQ('start', vm.name);
}

/** Destroy, undefine with checkpoint/snapshot metadata. Never throws; returns what it did. */
export function removeVm(name: string): string[] {
  if (!vmExists(name)) return [];
  const done: string[] = [];
  const st = sh(['virsh', '-q', '-c', URI, 'domstate', name], { allowFailure: true }).stdout.trim();
  if (st === 'running' || st === 'paused') {
    sh(['virsh', '-q', '-c', URI, 'destroy', name], { allowFailure: true });
    done.push(`destroyed ${name}`);
  }
  const u = sh(['virsh', '-q', '-c', URI, 'undefine', name, '--checkpoints-metadata', '--snapshots-metadata'], { allowFailure: true });
  done.push(u.code === 0 ? `undefined ${name}` : `undefine ${name} failed: ${u.stderr.trim()}`);
  return done;
}

export function removeDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  rmSync(dir, { recursive: true, force: true });
  return [`removed ${dir}`];
}

export const checkpointsOf = (name: string): string[] =>
  sh(['virsh', '-q', '-c', URI, 'checkpoint-list', name, '--name'], { allowFailure: true }).stdout.split('\n').map((s) => s.trim()).filter(Boolean).sort();

/** mulberry32: the same offsets on every run for a given seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` distinct 1 MiB-aligned offsets inside the data extents, drawn with a seeded PRNG
 * (partial Fisher–Yates over every 1 MiB slot of data), sorted.
 */
export function rewriteOffsets(extents: readonly { offset: number; length: number }[], count: number, seed: number): number[] {
  const slots = extents.flatMap((e) => Array.from({ length: Math.floor(e.length / MiB) }, (_, i) => e.offset + i * MiB));
  if (count > slots.length) throw new Error(`${count} MiB of rewrites do not fit ${slots.length} MiB of data`);
  const r = prng(seed);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(r() * (slots.length - i));
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  return slots.slice(0, count).sort((a, b) => a - b);
}

/** Bytes of the distinct 64 KiB clusters touched by writes of `len` at `offsets`. */
export function changedClusterBytes(offsets: readonly number[], len: number): number {
  const clusters = new Set<number>();
  for (const o of offsets) for (let c = Math.floor(o / CLUSTER); c * CLUSTER < o + len; c++) clusters.add(c);
  return clusters.size * CLUSTER;
}

/** One `write -P byte offset len` through QEMU's monitor; HMP exits 0 on failure, so its output is read. */
export async function monitorWrite(vm: string, byte: number, offset: number, len: number): Promise<void> {
  const cmd = `qemu-io -d ${DRIVE} "write -P 0x${byte.toString(16).padStart(2, '0')} ${offset} ${len}"`;
  const out = (await run(['virsh', '-c', URI, 'qemu-monitor-command', '--domain', vm, '--hmp', cmd])).stdout;
  if (/error|fail|invalid|not found/i.test(out)) throw new Error(`qemu-io on ${vm} at ${offset}: ${out.trim()}`);
}
