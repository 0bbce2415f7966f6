// `vmbackup restore`: verify first, copy the disks to the target hypervisor, rewrite the domain
// XML (name, UUID, disk paths, MACs, network) and define it. Restoring over an existing VM needs
// --force and the VM shut off; its disks are replaced by rename only after every copy succeeded.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { acquireLock } from '../adapters/lock.js';
import { backupDir } from '../core/backup-layout.js';
import { freshMacs, parseDomainXml, rewriteDomainXml, type RewriteSpec } from '../core/domain-xml.js';
import type { Vm } from '../core/model.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import { newRun, recordRun, step, type EngineContext } from './context.js';
import { verifyBackup } from './verify.js';

export interface RestoreOptions {
  backupId: string;
  as?: string;
  host?: string;
  start?: boolean;
  network?: 'keep' | 'none' | 'isolated';
  force?: boolean;
  /** test-restore: a throwaway copy, always under a new identity. */
  kind?: 'restore' | 'test-restore';
}

export interface RestoreOutcome { run: RunRecord; name: string; host: string; disks: string[]; defined: boolean }

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
      const stored = await ctx.storage.get(vm.hypervisor, vm.name, o.backupId);
      const v = await verifyBackup(ctx, stored);
      if (!v.ok) throw new Error(`backup ${o.backupId} failed verification, refusing to restore it: ${v.problems.join('; ')}`);
      return stored;
    }, log);
    const xml = await readFile(join(b.dir, `${vm.name}.xml`), 'utf8');
    const original = parseDomainXml(xml);
    const existing = (await host.virsh.list()).get(name);
    const keepIdentity = name === vm.name && o.kind !== 'test-restore';
    if (existing !== undefined) {
      if (!o.force) throw new Error(`a VM named ${name} already exists on ${host.hv.name}; restoring over it needs --force (and the VM shut off)`);
      if (existing !== 'shut off') throw new Error(`${name} is ${existing} on ${host.hv.name}; shut it off before restoring over it`);
    }
    // Before any disk is copied: a refusal must leave nothing on the target host.
    const network: RewriteSpec['network'] = o.network === 'none' ? { mode: 'none' } : o.network === 'isolated' ? { mode: 'isolated', network: host.hv.isolatedNetwork } : { mode: 'keep' };
    if (network.mode === 'isolated' && original.interfaces.length && !(await host.virsh.networkActive(host.hv.isolatedNetwork))) {
      throw new Error(`isolated network ${host.hv.isolatedNetwork} is not active on ${host.hv.name} (define it, or use --network none)`);
    }
    const sameHost = host.hv.name === vm.hypervisor;
    const disks: RewriteSpec['disks'] = {};
    const moves: { tmp: string; final: string }[] = [];
    const storageOnHost = backupDir(host.hv.storageRoot, vm.hypervisor, vm.name, b.id);
    await step(ctx, run, 'copy-disks', async () => {
      for (const f of (b.manifest?.files ?? []).filter((x) => x.target)) {
        const disk = original.disks.find((d) => d.target === f.target);
        const final = keepIdentity && sameHost && disk?.source ? disk.source : posix.join(host.hv.imagesDir, `${name}-${f.target}.qcow2`);
        if (existing === undefined && !o.force && (await host.fs.exists(final))) throw new Error(`${final} already exists on ${host.hv.name}; refusing to overwrite a disk no VM of that name owns (--force overwrites it)`);
        const tmp = `${final}.vmbackup-restore-${b.id}.tmp`;
        await host.fs.removeFile(tmp);
        await host.qemuImg.convert(`${storageOnHost}/${f.path}`, 'qcow2', tmp, { compress: false, timeoutMs: ctx.desired.settings.backup.copyTimeoutHours * 3_600_000 });
        moves.push({ tmp, final });
        disks[f.target!] = { path: final, format: 'qcow2' };
      }
      // Only now, with every disk copied, replace anything: a failed copy leaves the old VM whole.
      for (const m of moves) await host.fs.rename(m.tmp, m.final);
      out.disks = moves.map((m) => m.final);
    }, log).catch(async (e: unknown) => {
      for (const m of moves) await host.fs.removeFile(m.tmp).catch(() => undefined);
      throw e;
    });
    const newXml = rewriteDomainXml(xml, {
      name, disks, network,
      ...(keepIdentity ? {} : { uuid: randomUUID(), macs: freshMacs(original.interfaces.length, original.interfaces.flatMap((i) => (i.mac ? [i.mac] : [])), () => randomBytes(3)) }),
    });
    await step(ctx, run, 'define', async () => {
      if (existing !== undefined) await host.virsh.undefine(name);
      await host.virsh.define(newXml);
      out.defined = true;
    }, log);
    if (o.start) await step(ctx, run, 'start', () => host.virsh.start(name), log);
  });
  return out;
}
