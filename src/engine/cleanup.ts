// Recovery after a crashed or killed run: works out the real state from libvirt and qemu-img
// (not from our own records, which may be what got lost), commits leftover overlays back, thaws
// the guest, stops orphaned copies, removes `.partial` directories and closes run records left
// `running` by a dead process. Safe to run any time. Disk paths from libvirt are data: a source
// that is not absolute and normalised is reported, never handed to a program.
import { posix } from 'node:path';
import type { Logger } from 'pino';
import { isOurOverlay, overlayPath, OVERLAY_RE } from '../core/backup-layout.js';
import { hostPathProblem } from '../core/host-path.js';
import type { Vm } from '../core/model.js';
import { alive } from '../adapters/lock.js';
import { assertFormat } from '../adapters/libvirt/qemu-img.js';
import type { EngineContext } from './context.js';
import type { Host } from './hosts.js';
import { commitOverlay, ensureThawed } from './snapshot.js';
import { backupApi } from './backup-incremental.js';
import { isOurCheckpoint } from '../adapters/libvirt/backup-api.js';

export interface CleanupReport { actions: string[]; problems: string[] }

const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Kill copies still writing into a partial dir of this VM (left by a SIGKILLed run). */
async function stopOrphanCopies(host: Host, partialDirHv: string, report: CleanupReport): Promise<void> {
  const pattern = `qemu-img convert .* ${reEscape(partialDirHv)}/`;
  const r = await host.transport.run(['pgrep', '-f', '--', pattern], { allowFailure: true, timeoutMs: 30_000 });
  const pids = r.stdout.split('\n').map((s) => s.trim()).filter((s) => /^\d+$/.test(s));
  if (!pids.length) return;
  await host.transport.run(['kill', '-TERM', '--', ...pids], { allowFailure: true, timeoutMs: 30_000 });
  report.actions.push(`stopped orphaned copy process(es) ${pids.join(', ')}`);
  await new Promise((res) => setTimeout(res, 500));
}

/**
 * A push-mode backup job left by a killed run (its targets are in this VM's `.partial` dirs) is
 * aborted; a `vmbackup-<id>` checkpoint whose point was never published is deleted. Jobs and
 * checkpoints of anyone else are never touched.
 */
async function stopOrphanBackupJob(ctx: EngineContext, host: Host, vm: Vm, report: CleanupReport): Promise<void> {
  const api = backupApi(host);
  const ours = `${host.hv.storageRoot}/${vm.hypervisor}/${vm.name}/`;
  const targets = await api.jobTargets(vm.name);
  if (targets.length && targets.every((t) => t.startsWith(ours) && /\.partial\/[^/]+$/.test(t))) {
    await api.abort(vm.name);
    for (let i = 0; i < 50 && (await api.job(vm.name)).state === 'running'; i++) await new Promise((r) => setTimeout(r, 200));
    report.actions.push(`aborted the backup job left running into ${posix.dirname(targets[0]!)}`);
  }
  const checkpoints = (await api.checkpoints(vm.name)).filter(isOurCheckpoint);
  if (!checkpoints.length) return;
  const published = new Set((await ctx.storage.list(vm.hypervisor, vm.name)).map((p) => p.id));
  for (const c of checkpoints) {
    if (published.has(c.slice('vmbackup-'.length))) continue;
    try {
      await api.deleteCheckpoint(vm.name, c);
      report.actions.push(`deleted checkpoint ${c}: its restore point was never published`);
    } catch (e) { report.problems.push(`checkpoint ${c}: ${(e as Error).message}`); }
  }
}

export async function cleanupVm(ctx: EngineContext, vm: Vm, log: Logger = ctx.log): Promise<CleanupReport> {
  const host = ctx.hosts.get(vm.hypervisor);
  const report: CleanupReport = { actions: [], problems: [] };
  // A run whose process was killed (kill -9, OOM, reboot) is closed here, not left `running`.
  const closed = await ctx.store.markInterrupted(alive, ctx.now().toISOString());
  for (const r of closed) {
    if (r.vm === vm.name) report.actions.push(`closed run ${r.id} (${r.kind}, pid ${r.pid}) as interrupted: its process is gone`);
    else log.warn({ vm: r.vm, run: r.id, pid: r.pid }, 'cleanup: closed a run of a dead process as interrupted');
  }
  const partials = await ctx.storage.partials(vm.hypervisor, vm.name);
  for (const id of partials) await stopOrphanCopies(host, `${host.hv.storageRoot}/${vm.hypervisor}/${vm.name}/${id}.partial`, report);

  const states = await host.virsh.list();
  if (states.has(vm.name)) {
    await stopOrphanBackupJob(ctx, host, vm, report);
    const info = await host.virsh.info(vm.name);
    for (const d of info.disks) {
      if (!isOurOverlay(d.source)) continue;
      const bad = hostPathProblem(d.source);
      if (bad) { report.problems.push(`${d.target}: overlay path ${JSON.stringify(d.source)} is ${bad}; left untouched`); continue; }
      // Find the base from the overlay itself (qemu-img), cross-checked with libvirt's view.
      const chain = await host.qemuImg.info(d.source!, assertFormat(d.format ?? 'qcow2'), false);
      const base = chain[0]?.backingFilename ?? d.backing[0];
      if (!base) { report.problems.push(`${d.target}: overlay ${d.source} has no backing file; left untouched`); continue; }
      if (d.backing[0] && d.backing[0] !== base) { report.problems.push(`${d.target}: libvirt says base ${d.backing[0]}, image says ${base}; left untouched`); continue; }
      try {
        await commitOverlay(host, vm.name, d.target, { base, overlay: d.source! }, { freezeSec: ctx.desired.settings.backup.freezeTimeoutSec, commitSec: ctx.desired.settings.backup.commitTimeoutSec });
        report.actions.push(`committed leftover overlay ${d.source} of ${d.target} back into ${base}`);
      } catch (e) {
        report.problems.push((e as Error).message);
      }
    }
    if (info.hasAgentChannel && states.get(vm.name) === 'running' && (await host.virsh.freezeStatus(vm.name)) === 'frozen') {
      const w: string[] = [];
      await ensureThawed(host, vm.name, w);
      report.actions.push('thawed guest filesystems left frozen');
    }
    // Overlay files that no disk uses any more (the pivot happened, the delete did not).
    for (const d of info.disks) {
      if (!d.source || isOurOverlay(d.source)) continue;
      const bad = hostPathProblem(d.source);
      if (bad) { report.problems.push(`${d.target}: disk source ${JSON.stringify(d.source)} is ${bad}; its directory was not searched for leftover overlays`); continue; }
      const dir = posix.dirname(d.source);
      for (const name of await host.fs.listFiles(dir)) {
        const id = OVERLAY_RE.exec(name)?.[1];
        // Exactly the name this VM's disk gets for a backup id, nothing that merely looks alike.
        if (!id || posix.basename(overlayPath(d.source, vm.name, d.target, id)) !== name) continue;
        const f = posix.join(dir, name);
        await host.fs.removeFile(f);
        report.actions.push(`removed stale overlay file ${f}`);
      }
    }
  }
  if (!report.problems.length) {
    for (const id of partials) {
      await ctx.storage.removePartial(vm.hypervisor, vm.name, id);
      report.actions.push(`removed unfinished backup ${id}.partial`);
    }
  } else if (partials.length) {
    report.problems.push(`kept ${partials.length} .partial dir(s) until the overlays are resolved`);
  }
  for (const a of report.actions) log.warn({ vm: vm.name, action: a }, 'cleanup');
  for (const p of report.problems) log.error({ vm: vm.name, problem: p }, 'cleanup problem');
  return report;
}
