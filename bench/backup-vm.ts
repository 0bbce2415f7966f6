// The bench VM for bench/backup-paths.ts: an OS-less domain on the lab's local libvirt, made in
// the style of the lab's `lab-noos` (SeaBIOS only, a dead agent channel), with one qcow2 disk that
// holds `dataBytes` of non-zero pattern data in 8 MiB extents spread over the virtual size, the
// rest holes. Everything lives under one bench-owned directory and is removed by `teardown`,
// which is synchronous so that exit and signal handlers can run it too.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MiB, sh } from './backup-exec.js';

export const BENCH_VM = 'bench-vm';
export const URI = 'qemu:///system';

export interface BenchVm {
  name: string;
  dir: string;
  imagesDir: string;
  disk: string;
  /** Overlay used while the plain contenders copy the base (see `withOverlay`). */
  overlay: string;
}

export const virsh = (...args: string[]): string => sh(['virsh', '-q', '-c', URI, ...args]).stdout;

export function vmExists(name: string): boolean {
  return sh(['virsh', '-q', '-c', URI, 'domstate', name], { allowFailure: true }).code === 0;
}

/** Pattern extents for `qemu-io`: n extents of ≤ 8 MiB, evenly spread, fill bytes 0x01…0xfe. */
export function dataExtents(virtualBytes: number, dataBytes: number): { offset: number; length: number; byte: number }[] {
  const chunk = Math.min(8 * MiB, dataBytes);
  if (chunk <= 0) return [];
  const n = Math.ceil(dataBytes / chunk);
  const stride = Math.max(chunk, Math.floor(virtualBytes / n / MiB) * MiB);
  if (stride * (n - 1) + chunk > virtualBytes) throw new Error(`${dataBytes} bytes of data do not fit a ${virtualBytes}-byte disk`);
  const out: { offset: number; length: number; byte: number }[] = [];
  for (let i = 0; i < n; i++) out.push({ offset: i * stride, length: Math.min(chunk, dataBytes - i * chunk), byte: (i % 254) + 1 });
  return out;
}

export function domainXml(vm: BenchVm, virtType: 'kvm' | 'qemu'): string {
  return `<domain type='${virtType}'>
  <name>${vm.name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${vm.disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <serial type='pty'/>
    <audio id='1' type='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

export function benchVm(dir: string): BenchVm {
  const imagesDir = join(dir, 'images');
  return { name: BENCH_VM, dir, imagesDir, disk: join(imagesDir, `${BENCH_VM}-vda.qcow2`), overlay: join(imagesDir, `${BENCH_VM}-vda.bench-overlay.qcow2`) };
}

/** Makes the disk, defines and starts the VM. Call `teardown` first: a leftover is never reused. */
export function createVm(vm: BenchVm, virtualBytes: number, dataBytes: number, virtType: 'kvm' | 'qemu'): void {
  mkdirSync(vm.imagesDir, { recursive: true });
  sh(['qemu-img', 'create', '-q', '-f', 'qcow2', vm.disk, String(virtualBytes)]);
  const ext = dataExtents(virtualBytes, dataBytes);
  // One qemu-io process; a few hundred -c commands at most (8 MiB each).
  const cmds = ext.flatMap((e) => ['-c', `write -P 0x${e.byte.toString(16).padStart(2, '0')} ${e.offset} ${e.length}`]);
  if (cmds.length) sh(['qemu-io', '-f', 'qcow2', ...cmds, vm.disk]);
  const xml = join(vm.dir, `${vm.name}.xml`);
  writeFileSync(xml, domainXml(vm, virtType));
  virsh('define', xml);
  virsh('start', vm.name);
}

/** Destroy, drop checkpoints and snapshots metadata, undefine, rm. Never throws; returns what it did. */
export function teardown(vm: BenchVm, removeDir: string | undefined): string[] {
  const done: string[] = [];
  if (vmExists(vm.name)) {
    const st = sh(['virsh', '-q', '-c', URI, 'domstate', vm.name], { allowFailure: true }).stdout.trim();
    if (st === 'running' || st === 'paused') {
      sh(['virsh', '-q', '-c', URI, 'destroy', vm.name], { allowFailure: true });
      done.push('destroyed');
    }
    const u = sh(['virsh', '-q', '-c', URI, 'undefine', vm.name, '--checkpoints-metadata', '--snapshots-metadata'], { allowFailure: true });
    done.push(u.code === 0 ? 'undefined' : `undefine failed: ${u.stderr.trim()}`);
  }
  for (const p of [removeDir ?? vm.imagesDir]) {
    if (existsSync(p)) {
      rmSync(p, { recursive: true, force: true });
      done.push(`removed ${p}`);
    }
  }
  return done;
}

/**
 * For the plain contenders (qemu-img, cp): the same situation vmbackup copies in, a running VM on
 * an external disk-only overlay while the base is read. Snapshot and commit are not timed.
 */
export async function withOverlay<T>(vm: BenchVm, fn: () => Promise<T>): Promise<T> {
  rmSync(vm.overlay, { force: true });
  virsh('snapshot-create-as', vm.name, 'bench-copy', '--disk-only', '--atomic', '--no-metadata', '--diskspec', `vda,snapshot=external,file=${vm.overlay}`);
  try {
    return await fn();
  } finally {
    virsh('blockcommit', vm.name, 'vda', '--active', '--pivot', '--wait');
    const src = virsh('domblklist', vm.name).trim();
    if (!src.includes(vm.disk)) throw new Error(`bench VM did not pivot back to its base: ${src}`);
    rmSync(vm.overlay, { force: true });
  }
}

/** Deletes virtnbdbackup's checkpoints (and their bitmaps), so every contender sees the same disk. */
export function deleteCheckpoints(vm: BenchVm): number {
  const names = sh(['virsh', '-q', '-c', URI, 'checkpoint-list', vm.name, '--name', '--topological'], { allowFailure: true }).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  for (const n of names.reverse()) virsh('checkpoint-delete', vm.name, n);
  return names.length;
}
