// `vmbackup restore`: verify first, then put the backup's files (disks, NVRAM, vTPM state) on the
// target host beside their final paths, build the definition from the allow-list (name, UUID,
// disk paths, MACs, network, the VM's own NVRAM) and swap everything in. Restoring over an
// existing VM needs --force and the VM shut off; it is one transaction (see restore-files.ts):
// a failure at any step (copy, undefine, define, start) leaves the VM, its files and its
// definition as they were.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { readRegularText } from '../adapters/storage/read-untrusted.js';
import { dirname, join, posix } from 'node:path';
import { writeFileAtomic } from '../adapters/atomic-write.js';
import { acquireLock } from '../adapters/lock.js';
import { backupDir, nvramPathFor, tpmStatePath } from '../core/backup-layout.js';
import { freshMacs, parseDomainXml, type RewriteSpec } from '../core/domain-xml.js';
import type { Vm } from '../core/model.js';
import { buildRestoreXml } from '../core/restore-xml.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import { newRun, recordRun, step, type EngineContext } from './context.js';
import { RestoreFiles } from './restore-files.js';
import { putBack } from './restore-rollback.js';
import { imageReaderFor, verifyPoint } from './verify.js';

export interface RestoreOptions {
  backupId: string;
  as?: string;
  host?: string;
  start?: boolean;
  network?: 'keep' | 'none' | 'isolated';
  force?: boolean;
  /** In place only (same name and host): keep the backup's <hostdev>, <filesystem> and host block devices. */
  keepHostDevices?: boolean;
  /** test-restore: a throwaway copy, always under a new identity. */
  kind?: 'restore' | 'test-restore';
}

export interface RestoreOutcome {
  run: RunRecord; name: string; host: string; disks: string[]; defined: boolean;
  /** The restored VM's own NVRAM file and vTPM state file on its host, when it has them. */
  nvram?: string; tpmState?: string;
}

const NAME_RE = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export async function restoreVm(ctx: EngineContext, vm: Vm, o: RestoreOptions): Promise<RestoreOutcome> {
  const name = o.as ?? vm.name;
  if (!NAME_RE.test(name)) throw new Error(`invalid VM name ${JSON.stringify(name)}`);
  const host = ctx.hosts.get(o.host ?? vm.hypervisor);
  const lock = await acquireLock(join(ctx.stateDir, 'locks'), name, `${o.kind ?? 'restore'} of ${vm.name} as ${name}`, ctx.now);
  const run = newRun(ctx, o.kind ?? 'restore', vm);
  run.backupId = o.backupId;
  const log = ctx.log.child({ run: run.id, vm: vm.name, target: name, hypervisor: host.hv.name });
  const out: RestoreOutcome = { run, name, host: host.hv.name, disks: [], defined: false };
  await recordRun(ctx, run, lock, async () => {
    const b = await step(ctx, run, 'verify', async () => {
      const list = await ctx.storage.list(vm.hypervisor, vm.name);
      const stored = list.find((x) => x.id === o.backupId) ?? await ctx.storage.get(vm.hypervisor, vm.name, o.backupId);
      // The point and its whole chain; the images' backing files must be exactly the recorded parents.
      const v = await verifyPoint(ctx, list, stored, imageReaderFor(ctx, vm, host.hv.name));
      if (!v.ok) throw new Error(`backup ${o.backupId} failed verification${v.failedPoint && v.failedPoint !== o.backupId ? ` (its chain fails at ${v.failedPoint})` : ''}, refusing to restore it: ${v.problems.join('; ')}`);
      return stored;
    }, log);
    const xml = await readRegularText(join(b.dir, `${vm.name}.xml`), 4 * 1024 * 1024); // storage is untrusted: no link, no FIFO, bounded
    const original = parseDomainXml(xml);
    const existing = (await host.virsh.list()).get(name);
    const keepIdentity = name === vm.name && o.kind !== 'test-restore';
    if (existing !== undefined) {
      if (!o.force) throw new Error(`a VM named ${name} already exists on ${host.hv.name}; restoring over it needs --force (and the VM shut off)`);
      if (existing !== 'shut off') throw new Error(`${name} is ${existing} on ${host.hv.name}; shut it off before restoring over it`);
    }
    // Before anything is touched: the definition to put back if any later step fails.
    const saved = existing !== undefined ? await host.virsh.dumpxmlForRedefine(name) : undefined;
    const current = saved !== undefined ? parseDomainXml(saved) : undefined;
    // Before any file is copied: a refusal must leave nothing on the target host.
    const network: RewriteSpec['network'] = o.network === 'none' ? { mode: 'none' } : o.network === 'isolated' ? { mode: 'isolated', network: host.hv.isolatedNetwork } : { mode: 'keep' };
    if (network.mode === 'isolated' && original.interfaces.length && !(await host.virsh.networkActive(host.hv.isolatedNetwork))) {
      throw new Error(`isolated network ${host.hv.isolatedNetwork} is not active on ${host.hv.name} (define it, or use --network none)`);
    }
    const sameHost = host.hv.name === vm.hypervisor;
    if (o.keepHostDevices && !(keepIdentity && sameHost)) throw new Error(`--keep-host-devices is only for an in-place restore (${vm.name} under its own name on ${vm.hypervisor}); a copy never gets the original's host devices`);
    const uuid = keepIdentity ? original.uuid : randomUUID();
    const storageOnHost = backupDir(host.hv.storageRoot, vm.hypervisor, vm.name, b.id);
    const files = new RestoreFiles(host, b.id, ctx.desired.settings.backup.copyTimeoutHours * 3_600_000);
    const disks: RewriteSpec['disks'] = {};
    const manifestFiles = b.manifest?.files ?? [];
    for (const f of manifestFiles.filter((x) => x.target)) {
      const disk = original.disks.find((d) => d.target === f.target);
      const final = keepIdentity && sameHost && disk?.source ? disk.source : posix.join(host.hv.imagesDir, `${name}-${f.target}.qcow2`);
      files.add('disk', `${storageOnHost}/${f.path}`, final);
      disks[f.target!] = { path: final, format: 'qcow2' };
    }
    // UEFI: the new VM's own NVRAM file (in place: the one the VM has now); never the original's when it is a copy.
    const nvramFile = manifestFiles.find((f) => f.kind === 'nvram');
    const nvram = original.nvram || nvramFile ? (keepIdentity && current?.nvram?.path ? current.nvram.path : nvramPathFor(name)) : undefined;
    if (nvram && !keepIdentity && sameHost && nvram === original.nvram?.path) throw new Error(`${name} would share the NVRAM file ${nvram} of ${vm.name}; refusing`);
    if (nvram) out.nvram = nvram;
    if (nvram && nvramFile) files.add('nvram', `${storageOnHost}/${nvramFile.path}`, nvram);
    // An emulated TPM: its state goes where libvirt keeps it for this VM's UUID.
    const tpm = original.tpm?.backend === 'emulator';
    const tpmFile = tpm ? manifestFiles.find((f) => f.kind === 'tpm') : undefined;
    if (tpmFile) {
      out.tpmState = tpmStatePath(uuid, tpmFile.tpm_version);
      files.add('tpm', `${storageOnHost}/${tpmFile.path}`, out.tpmState);
    }
    if (existing === undefined && !o.force) {
      for (const f of files.finals) {
        if (await host.fs.exists(f.path)) throw new Error(`${f.path} already exists on ${host.hv.name}; refusing to overwrite a ${f.kind === 'disk' ? 'disk' : f.kind === 'nvram' ? 'NVRAM file' : 'TPM state'} no VM of that name owns (--force overwrites it)`);
      }
    }
    const built = buildRestoreXml(xml, {
      name, disks, network, tpm,
      ...(o.keepHostDevices ? { keepHostDevices: true } : {}),
      ...(nvram ? { nvram: { path: nvram } } : {}),
      ...(keepIdentity ? {} : { uuid, macs: freshMacs(original.interfaces.length, original.interfaces.flatMap((i) => (i.mac ? [i.mac] : [])), () => randomBytes(3)) }),
    });
    run.warnings.push(...built.dropped);
    await step(ctx, run, 'copy-disks', async () => {
      await files.copyAll(); // beside the final paths: the current VM is not touched yet
      out.disks = files.finals.filter((f) => f.kind === 'disk').map((f) => f.path);
    }, log);
    // From here on the VM is touched: its previous definition also goes on disk (state dir, 0600),
    // should this process die between undefine and define.
    const savedFile = saved !== undefined ? join(ctx.stateDir, 'restores', `${name}.${b.id}.previous.xml`) : undefined;
    if (savedFile) { await mkdir(dirname(savedFile), { recursive: true, mode: 0o700 }); await writeFileAtomic(savedFile, saved!, 0o600); }
    const undo = (e: unknown): Promise<never> => putBack(host, name, files, saved, out, e, savedFile);
    await step(ctx, run, 'define', async () => {
      try {
        await files.swapIn();
        // Same name, same files: keep the NVRAM and TPM state libvirt would otherwise delete or refuse on.
        if (existing !== undefined) await host.virsh.undefine(name, { nvram: 'keep', tpm: 'keep' });
        await host.virsh.define(built.xml);
        out.defined = true;
      } catch (e) { await undo(e); }
    }, log);
    if (o.start) {
      await step(ctx, run, 'start', async () => {
        try { await host.virsh.start(name); } catch (e) { if (saved !== undefined) await undo(e); throw e; }
      }, log);
    }
    // Only now, with the new definition in place (and started), are the replaced files deleted.
    run.warnings.push(...await files.commit());
    if (savedFile) await rm(savedFile, { force: true });
  });
  return out;
}
