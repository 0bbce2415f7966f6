// The daemon benchmark's own VMs: tiny domains defined on the lab's local libvirt and never
// started (allow_offline backs them up without a snapshot), so a reconcile finds them backed up
// and has nothing to do, and no lab VM that other tests use is ever touched.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive } from '../src/adapters/lock.js';
import { scratchXml } from '../test/helpers/faults.js';

const URI = 'qemu:///system';
/** `vmb-dlat-<pid>-<n>`: the pid tells a live run's VMs from a killed run's leftovers. */
const NAME_RE = /^vmb-dlat-(\d+)-\d+$/;
export const DIR_PREFIX = 'vmb-dlat-';

const virsh = (args: string[], allowFailure = false): { code: number; out: string; err: string } => {
  const r = spawnSync('virsh', ['-q', '-c', URI, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0 && !allowFailure) throw new Error(`virsh ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { code: r.status ?? 1, out: r.stdout ?? '', err: r.stderr ?? '' };
};

export function undefineVm(name: string): void {
  virsh(['destroy', '--domain', name], true);
  virsh(['undefine', '--domain', name], true);
}

/** Removes VMs and work dirs left by runs that were killed (their pid is gone). */
export function sweepLeftovers(log: (m: string) => void): void {
  for (const name of virsh(['list', '--all', '--name'], true).out.split('\n').map((s) => s.trim())) {
    const m = NAME_RE.exec(name);
    if (m && !alive(Number(m[1]))) { log(`removing ${name}, left by a killed run`); undefineVm(name); }
  }
  for (const d of readdirSync(tmpdir())) {
    const m = /^vmb-dlat-(\d+)-/.exec(d);
    if (m && !alive(Number(m[1]))) { log(`removing ${join(tmpdir(), d)}, left by a killed run`); rmSync(join(tmpdir(), d), { recursive: true, force: true }); }
  }
}

/** Defines `count` shut-off VMs with a 16 MiB empty qcow2 each under `imagesDir`; returns their names. */
export function defineVms(imagesDir: string, count: number): string[] {
  const names: string[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `vmb-dlat-${process.pid}-${i}`;
    const disk = join(imagesDir, `${name}-vda.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    const file = join(imagesDir, `${name}.xml`);
    writeFileSync(file, scratchXml(name, disk, false));
    undefineVm(name);
    virsh(['define', '--file', file]);
    names.push(name);
  }
  return names;
}
