// `vmbackup backup <vm>`: lock → pre-checks → pre-backup commands → snapshot → copy → commit →
// checksums + manifest → post-checks → publish. The backup becomes visible only by the final
// rename of `<id>.partial`; anything that fails before leaves no restore point behind.
import { join } from 'node:path';
import { backupDir, backupIdAt, CHECKSUM_FILE, diskFileName, MANIFEST_FILE } from '../core/backup-layout.js';
import { checksumsText, type Manifest, type ManifestFile } from '../core/manifest.js';
import type { Vm } from '../core/model.js';
import { lockVm } from './vm-lock.js';
import { alive } from '../adapters/lock.js';
import { assertFormat } from '../adapters/libvirt/qemu-img.js';
import { sha256File } from '../adapters/storage/hash.js';
import { copyDisk } from './copy-disk.js';
import { copyVmState } from './copy-vm-state.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import { VERSION } from '../version.js';
import { cleanupVm } from './cleanup.js';
import { newRun, recordRun, step, type EngineContext } from './context.js';
import { runPreCommands } from './pre-commands.js';
import { postChecks } from './post-checks.js';
import { commitAll, takeSnapshot, type SnapshotResult } from './snapshot.js';
import { observeForBackup } from './observe-vm.js';
import { consistencyProblem } from '../core/quiesce-policy.js';
import { backupApi, incrementalOf, planApiPoint, takeApiPoint, tidyCheckpoints, type ApiPoint } from './backup-incremental.js';

export interface BackupOptions { baculaJobId?: string }

export async function backupVm(ctx: EngineContext, vm: Vm, opts: BackupOptions = {}): Promise<RunRecord> {
  const lock = await lockVm(ctx, vm, `backup of ${vm.name}`);
  // Runs whose process died (SIGKILL, crash) are closed as interrupted, not left "running".
  await ctx.store.markInterrupted(alive, ctx.now().toISOString());
  const run = newRun(ctx, 'backup', vm);
  const log = ctx.log.child({ run: run.id, vm: vm.name, hypervisor: vm.hypervisor });
  run.method = vm.method;
  await ctx.store.saveRun(run);
  await recordRun(ctx, run, lock, async () => {
    if (lock.tookOver) run.warnings.push(`took over the lock of a dead run (pid ${lock.tookOver.pid}, ${lock.tookOver.what})`);
    await execute(ctx, vm, run, opts, log);
  });
  if (run.status === 'failed') await ctx.notifier.notify({ kind: 'failure', run });
  else await ctx.notifier.notify({ kind: run.warnings.length ? 'warning' : 'success', run }); // a success after a failure is a recovery
  log.info({ status: run.status, warnings: run.warnings, error: run.error }, 'backup finished');
  return run;
}

async function execute(ctx: EngineContext, vm: Vm, run: RunRecord, opts: BackupOptions, log: EngineContext['log']): Promise<void> {
  const host = ctx.hosts.get(vm.hypervisor);
  const s = ctx.desired.settings;
  const id = backupIdAt(run.started);
  run.backupId = id;

  const recovered = await step(ctx, run, 'recover-leftovers', () => cleanupVm(ctx, vm, log), log);
  if (recovered.problems.length) throw new Error(`leftovers from an earlier run could not be cleaned: ${recovered.problems.join('; ')}`);
  if (recovered.actions.length) run.warnings.push(...recovered.actions.map((a) => `recovered: ${a}`));

  const pre = await step(ctx, run, 'pre-checks', async () => {
    const o = await observeForBackup(ctx, host, vm);
    if (!o.result.ok) throw new Error(`pre-checks failed: ${o.result.failures.join('; ')}`);
    return { ...o, state: o.state!, info: o.info!, inactiveXml: await host.virsh.dumpxml(vm.name, true) };
  }, log);
  run.warnings.push(...pre.result.warnings);

  await step(ctx, run, 'pre-backup-commands', () => runPreCommands(vm.preBackupCommands, s.backup.preCommandTimeoutSec * 1000, log), log);

  const partialCtl = await ctx.storage.createPartial(vm.hypervisor, vm.name, id);
  const partialHv = backupDir(host.hv.storageRoot, vm.hypervisor, vm.name, id, true);
  let snap: SnapshotResult | undefined;
  let api: ApiPoint | undefined;
  let checkpointMade: string | undefined;
  const durations: Record<string, number> = {};
  try {
    const xmlName = `${vm.name}.xml`;
    await ctx.storage.writeFile(partialCtl, xmlName, pre.inactiveXml);
    const running = pre.state === 'running';
    const t = { freezeSec: s.backup.freezeTimeoutSec, commitSec: s.backup.commitTimeoutSec, agentSec: s.backup.agentTimeoutSec };
    // Incrementals (and the fulls that start their chains) go through libvirt's backup API.
    const plan = (incrementalOf(vm)?.fullEvery ?? 1) <= 1 ? undefined : await step(ctx, run, 'backup-kind', () => planApiPoint(ctx, host, vm, running, pre.disks.copy, pre.virtualBytes, pre.inactiveXml, run.warnings), log);
    if (plan) checkpointMade = `vmbackup-${id}`;
    if (running && !plan) {
      snap = await step(ctx, run, 'snapshot', () => takeSnapshot(host, vm.name, id, pre.disks.copy, pre.info.disks, pre.result.quiesce, t, vm), log);
      run.warnings.push(...snap.warnings);
    }
    const files: ManifestFile[] = [];
    const hashes: Promise<void>[] = [];
    const t0 = performance.now();
    if (plan) {
      api = await step(ctx, run, `backup-api-${plan.decision.kind}`, () => takeApiPoint(ctx, host, vm, id, plan, pre.disks.copy, pre.info.disks, pre.virtualBytes, partialCtl, partialHv, pre.result.quiesce, s.backup.agentTimeoutSec, run.warnings), log);
      files.push(...api.files);
      durations.backup_job_ms = api.jobMs;
      if (pre.info.nvram || pre.info.tpm) files.push(...await step(ctx, run, 'copy-vm-state', () => copyVmState(host, vm.name, pre.info, partialCtl, partialHv, run.warnings), log));
    } else try {
      for (const d of pre.disks.copy) {
        const name = diskFileName(vm.name, d.target);
        const src = d.source!;
        const copy = await step(ctx, run, `copy-${d.target}`, () => copyDisk(ctx, host, vm, {
          source: src, format: assertFormat(d.format ?? 'raw'), virtualSize: pre.virtualBytes.get(d.target) ?? 0, encrypted: pre.encrypted.has(d.target),
          frozenSource: Boolean(snap), name, dirCtl: partialCtl, dirHv: partialHv,
        }, `${vm.name} ${d.target}`), log);
        const hashing = copy.sha256.then((h) => {
          if (h.warning) run.warnings.push(h.warning);
          files.push({ path: name, size_bytes: h.bytes, sha256: h.sha256, target: d.target, format: 'qcow2', writer: copy.writer, source_path: src, virtual_size_bytes: pre.virtualBytes.get(d.target) ?? 0 });
        });
        hashing.catch(() => undefined); // awaited below; a copy failing first must not leave it unhandled
        hashes.push(hashing);
      }
      // NVRAM and vTPM state while the disks are still frozen on their snapshot: one point in time.
      if (pre.info.nvram || pre.info.tpm) files.push(...await step(ctx, run, 'copy-vm-state', () => copyVmState(host, vm.name, pre.info, partialCtl, partialHv, run.warnings), log));
    } finally {
      durations.copy_ms = Math.round(performance.now() - t0);
      // Commit while the last image is still being hashed: the hash reads the backup copy, never the base.
      if (snap) {
        const commitStart = performance.now();
        await step(ctx, run, 'blockcommit', () => commitAll(host, vm.name, snap!.overlays, t), log).finally(() => { durations.commit_ms = Math.round(performance.now() - commitStart); });
      }
    }
    const hashed = await Promise.allSettled(hashes);
    const failedHash = hashed.find((h): h is PromiseRejectedResult => h.status === 'rejected');
    if (failedHash) throw failedHash.reason as Error;
    durations.copy_and_hash_ms = Math.round(performance.now() - t0);
    // A shut-off VM's filesystems are at rest; a running one's are what the snapshot says.
    const consistency = api?.consistency ?? snap?.consistency ?? 'filesystem';
    const unfit = consistencyProblem(vm, running, consistency);
    if (unfit) throw new Error(unfit);
    run.consistency = consistency;
    const xh = await sha256File(join(partialCtl, xmlName));
    files.push({ path: xmlName, size_bytes: xh.bytes, sha256: xh.sha256 });
    files.sort((a, b) => (a.path < b.path ? -1 : 1));
    await ctx.storage.writeFile(partialCtl, CHECKSUM_FILE, checksumsText(files));
    const manifest: Manifest = {
      schema: 'vmbackup.manifest/v1', job_id: run.id, backup_id: id, vm_name: vm.name, vm_uuid: pre.info.uuid, hypervisor: vm.hypervisor,
      started: run.started, finished: ctx.now().toISOString(), snapshot: snap ? `vmbackup-${id}` : api ? 'none (libvirt backup API, push mode)' : 'none (VM was shut off)',
      ...(api ? { kind: api.kind, checkpoint: api.checkpoint, ...(api.parent ? { parent_backup_id: api.parent } : {}) } : {}),
      method: vm.method, consistency, warnings: [...run.warnings],
      durations_ms: { ...durations, freeze_ms: Math.round(snap?.freezeMs ?? 0), total_ms: Math.round(Date.parse(ctx.now().toISOString()) - Date.parse(run.started)) },
      total_size_bytes: files.reduce((n, f) => n + f.size_bytes, 0), files,
      policy: { ...(vm.policy ? { name: vm.policy } : {}), ...(ctx.revision ? { revision: ctx.revision } : {}) },
      ...(opts.baculaJobId ? { bacula_job_id: opts.baculaJobId } : {}), vmbackup_version: VERSION,
    };
    await ctx.storage.writeFile(partialCtl, MANIFEST_FILE, JSON.stringify(manifest, null, 2) + '\n');
    await step(ctx, run, 'post-checks', () => postChecks(host, vm, pre.state, pre.disks.copy, partialCtl, partialHv, manifest), log);
    await step(ctx, run, 'publish', () => ctx.storage.publish(vm.hypervisor, vm.name, id), log);
    run.sizeBytes = manifest.total_size_bytes;
    checkpointMade = undefined;
    if (api || (incrementalOf(vm)?.fullEvery ?? 1) > 1) await tidyCheckpoints(host, vm.name, api?.checkpoint, run.warnings);
  } catch (e) {
    // A checkpoint whose point is not published would make the next incremental lie.
    if (checkpointMade) await backupApi(host).deleteCheckpoint(vm.name, checkpointMade).catch(() => undefined);
    // Never leave a half-written backup behind; but never delete while an overlay is unresolved.
    const stranded = /still runs on/.test((e as Error).message);
    if (!stranded) await ctx.storage.removePartial(vm.hypervisor, vm.name, id).catch(() => undefined);
    throw e;
  }
}
