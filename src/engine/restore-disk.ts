// `vmbackup restore <vm> --disk TARGET`: one disk of a backup (CloudStack's restoreVolumeFromBackup),
// either in place into a shut-off VM (the current file is moved aside, put back on any failure and
// deleted only after the new one is in place and checked) or as a new file next to the VM's disks,
// attached as the next free target when libvirt allows it.
import { posix } from 'node:path';
import { join } from 'node:path';
import { acquireLock } from '../adapters/lock.js';
import { backupDir } from '../core/backup-layout.js';
import { parseDomainXml, type DomainDisk } from '../core/domain-xml.js';
import type { Vm } from '../core/model.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import { newRun, recordRun, step, type EngineContext } from './context.js';
import type { Host } from './hosts.js';
import { assertStandalone } from './restore-files.js';
import { imageReaderFor, verifyPoint } from './verify.js';

export interface RestoreDiskOptions {
  backupId: string;
  /** The disk of the backup to restore (vda, vdb …). */
  target: string;
  /** The VM that receives it (default: the backed-up VM itself). */
  into?: string;
  host?: string;
  /** Restore as a new file of this name next to the VM's disks (and attach it) instead of in place. */
  asDisk?: string;
}

export interface RestoreDiskOutcome {
  run: RunRecord; vm: string; host: string; target: string; mode: 'in-place' | 'new-disk';
  /** The restored file on the host. */
  path: string;
  /** new-disk: the target it was attached as, when attaching worked. */
  attachedAs?: string;
  note?: string;
}

const NAME_RE = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const FILE_RE = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;
const TARGET_RE = /^[a-z]{2,4}[a-z0-9]*$/;

/** A path from libvirt or storage used as an operand: absolute and normalised, never an option. */
function absolute(p: string): string {
  if (!posix.isAbsolute(p) || posix.normalize(p) !== p || p.includes('\0')) throw new Error(`refusing the path ${JSON.stringify(p)}: not absolute and normalised`);
  return p;
}

/** The next unused target with the same prefix (vdb → vdc …), as libvirt names them. */
export function nextFreeTarget(prefix: string, used: readonly string[]): string {
  const taken = new Set(used);
  for (let i = 0; i < 26 * 27; i++) {
    const name = i < 26 ? String.fromCharCode(97 + i) : String.fromCharCode(96 + Math.floor(i / 26)) + String.fromCharCode(97 + (i % 26));
    if (!taken.has(`${prefix}${name}`)) return `${prefix}${name}`;
  }
  throw new Error(`no free ${prefix}* target`);
}

async function convert(ctx: EngineContext, host: Host, src: string, format: string, dst: string): Promise<void> {
  if (format !== 'qcow2' && format !== 'raw') throw new Error(`disk format ${format} is not supported for a disk restore (qcow2 or raw)`);
  await host.fs.assertRegularFile(absolute(src)); // storage is untrusted: no symlink, FIFO or device reaches qemu-img
  await host.transport.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', format, '--', absolute(src), absolute(dst)], { timeoutMs: ctx.desired.settings.backup.copyTimeoutHours * 3_600_000 });
  if (format === 'qcow2') await assertStandalone(host, dst); // an incremental's chain was followed, not kept
}

async function check(host: Host, path: string, format: string): Promise<void> {
  const r = await host.transport.run(['qemu-img', 'check', '-f', format, '--', absolute(path)], { timeoutMs: 600_000, allowFailure: true });
  if (format === 'qcow2' && r.exitCode !== 0 && r.exitCode !== 3) throw new Error(`qemu-img check of the restored ${path} failed: ${(r.stdout + r.stderr).trim().split('\n').slice(-1)[0]}`);
}

export async function restoreDisk(ctx: EngineContext, vm: Vm, o: RestoreDiskOptions): Promise<RestoreDiskOutcome> {
  const name = o.into ?? vm.name;
  if (!NAME_RE.test(name)) throw new Error(`invalid VM name ${JSON.stringify(name)}`);
  if (!TARGET_RE.test(o.target)) throw new Error(`invalid disk target ${JSON.stringify(o.target)}`);
  if (o.asDisk !== undefined && !FILE_RE.test(o.asDisk)) throw new Error(`--as-disk must be a plain file name, not ${JSON.stringify(o.asDisk)}`);
  const host = ctx.hosts.get(o.host ?? vm.hypervisor);
  const lock = await acquireLock(join(ctx.stateDir, 'locks'), name, `restore of ${vm.name}'s ${o.target} into ${name}`, ctx.now);
  const run = newRun(ctx, 'restore', vm);
  run.backupId = o.backupId;
  const log = ctx.log.child({ run: run.id, vm: vm.name, target: name, disk: o.target, hypervisor: host.hv.name });
  const out: RestoreDiskOutcome = { run, vm: name, host: host.hv.name, target: o.target, mode: o.asDisk ? 'new-disk' : 'in-place', path: '' };
  await recordRun(ctx, run, lock, async () => {
    const b = await step(ctx, run, 'verify', async () => {
      const list = await ctx.storage.list(vm.hypervisor, vm.name);
      const stored = list.find((x) => x.id === o.backupId) ?? await ctx.storage.get(vm.hypervisor, vm.name, o.backupId);
      // The point and its whole chain; the images' backing files must be exactly the recorded parents.
      const v = await verifyPoint(ctx, list, stored, imageReaderFor(ctx, vm, host.hv.name));
      if (!v.ok) throw new Error(`backup ${o.backupId} failed verification${v.failedPoint && v.failedPoint !== o.backupId ? ` (its chain fails at ${v.failedPoint})` : ''}, refusing to restore from it: ${v.problems.join('; ')}`);
      return stored;
    }, log);
    const files = b.manifest?.files ?? [];
    const f = files.find((x) => x.target === o.target);
    if (!f) throw new Error(`backup ${o.backupId} of ${vm.name} has no disk ${o.target} (it has: ${files.flatMap((x) => (x.target ? [x.target] : [])).join(', ') || 'none'})`);
    const src = `${backupDir(host.hv.storageRoot, vm.hypervisor, vm.name, b.id)}/${f.path}`;
    const state = (await host.virsh.list()).get(name);
    if (state === undefined) throw new Error(`no VM named ${name} on ${host.hv.name}: restore the whole VM first (restore ${vm.name} --backup ${b.id}${name !== vm.name ? ` --as ${name}` : ''})`);
    const disks = parseDomainXml(await host.virsh.dumpxml(name, true)).disks;
    const current = disks.find((d) => d.target === o.target);
    if (o.asDisk !== undefined) await asNewDisk(ctx, host, name, state, disks, current, src, o.asDisk, b.id, out, run, log);
    else await inPlace(ctx, host, name, state, current, src, b.id, out, run, log);
  });
  return out;
}

async function inPlace(ctx: EngineContext, host: Host, name: string, state: string, current: DomainDisk | undefined, src: string, id: string, out: RestoreDiskOutcome, run: RunRecord, log: EngineContext['log']): Promise<void> {
  if (state !== 'shut off') throw new Error(`${name} is ${state} on ${host.hv.name}; shut it off to restore ${out.target} in place, or use --as-disk NAME to restore it next to its disks`);
  if (!current || current.device !== 'disk' || current.type !== 'file' || !current.source) throw new Error(`${name} has no file disk ${out.target} to restore in place (use --as-disk NAME to add it as a new disk)`);
  const final = absolute(current.source);
  const format = current.format ?? 'raw';
  const tmp = `${final}.vmbackup-restore-${id}.tmp`;
  const aside = `${final}.vmbackup-aside-${id}`;
  if (await host.fs.exists(aside)) throw new Error(`${aside} exists (left by an earlier restore?); look at it and remove it first`);
  await step(ctx, run, `copy-${out.target}`, async () => {
    await host.fs.removeFile(tmp);
    try { await convert(ctx, host, src, format, tmp); await check(host, tmp, format); } catch (e) { await host.fs.removeFile(tmp).catch(() => undefined); throw e; }
  }, log);
  // The swap: current → aside, new → current; any failure puts the current file back as it was.
  await step(ctx, run, 'swap-in', async () => {
    await host.fs.rename(final, aside);
    try {
      await host.fs.rename(tmp, final);
      await check(host, final, format);
    } catch (e) {
      await host.fs.rename(aside, final);
      await host.fs.removeFile(tmp).catch(() => undefined);
      throw e;
    }
  }, log);
  // Only now is the replaced disk deleted.
  await host.fs.removeFile(aside).catch((e: unknown) => { run.warnings.push(`could not delete the replaced disk ${aside}: ${(e as Error).message}`); });
  out.path = final;
}

async function asNewDisk(ctx: EngineContext, host: Host, name: string, state: string, disks: readonly DomainDisk[], current: DomainDisk | undefined, src: string, file: string, id: string, out: RestoreDiskOutcome, run: RunRecord, log: EngineContext['log']): Promise<void> {
  const beside = current?.type === 'file' && current.source ? current.source : disks.find((d) => d.device === 'disk' && d.type === 'file' && d.source)?.source;
  const dir = beside ? posix.dirname(absolute(beside)) : absolute(host.hv.imagesDir);
  const final = posix.join(dir, file);
  if (await host.fs.exists(final)) throw new Error(`${final} already exists on ${host.hv.name}; choose another --as-disk name`);
  const tmp = `${final}.vmbackup-restore-${id}.tmp`;
  await step(ctx, run, `copy-${out.target}`, async () => {
    await host.fs.removeFile(tmp);
    try { await convert(ctx, host, src, 'qcow2', tmp); await check(host, tmp, 'qcow2'); await host.fs.rename(tmp, final); } catch (e) { await host.fs.removeFile(tmp).catch(() => undefined); throw e; }
  }, log);
  out.path = final;
  const prefix = /^[a-z]+?d(?=[a-z]+$)/.exec(out.target)?.[0] ?? 'vd';
  const newTarget = nextFreeTarget(prefix, disks.map((d) => d.target));
  const bus = prefix === 'vd' ? 'virtio' : prefix === 'sd' ? 'scsi' : undefined;
  // Persistent: the disk is part of the definition; on a running VM it is hot-plugged too.
  const r = await host.transport.run(['virsh', '-q', ...(host.hv.libvirtUri ? ['-c', host.hv.libvirtUri] : []), 'attach-disk', '--domain', name, '--source', final, '--target', newTarget, '--driver', 'qemu', '--subdriver', 'qcow2', ...(bus ? ['--targetbus', bus] : []), state === 'running' ? '--persistent' : '--config'], { timeoutMs: 60_000, allowFailure: true });
  if (r.exitCode === 0) out.attachedAs = newTarget;
  else {
    out.note = `restored to ${final} but not attached (${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0]}); attach it by hand`;
    run.warnings.push(out.note);
  }
}
