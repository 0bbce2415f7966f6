// The external-snapshot dance around a copy: put the VM on overlays (quiesced when asked and the
// agent cooperates), and later commit every overlay back and pivot. An overlay file is deleted
// only after libvirt confirms the disk runs on its base again: a failed commit never loses data.
import type { DomainDisk } from '../core/domain-xml.js';
import { overlayPath } from '../core/backup-layout.js';
import type { Host } from './hosts.js';

export interface SnapshotResult {
  /** target → { base, overlay } for every disk that got an overlay. */
  overlays: Map<string, { base: string; overlay: string }>;
  consistency: 'application' | 'crash';
  warnings: string[];
  freezeMs: number;
}

export interface SnapshotTimeouts { freezeSec: number; commitSec: number; /** Re-ping the agent right before freezing. */ agentSec?: number }

const AGENT_TROUBLE = /agent|quiesce|fsfreeze|freeze/i;

/** Snapshot `copy` disks externally; everything else gets snapshot=no. Thaw always runs after a quiesce attempt. */
export async function takeSnapshot(host: Host, vm: string, id: string, copy: readonly DomainDisk[], all: readonly DomainDisk[], quiesceWanted: boolean, t: SnapshotTimeouts): Promise<SnapshotResult> {
  const overlays = new Map<string, { base: string; overlay: string }>();
  for (const d of copy) overlays.set(d.target, { base: d.source!, overlay: overlayPath(d.source!, vm, d.target, id) });
  const overlayFiles = new Map([...overlays].map(([k, v]) => [k, v.overlay]));
  const skipped = all.filter((d) => !overlays.has(d.target) && d.device === 'disk').map((d) => d.target);
  const warnings: string[] = [];
  const name = `vmbackup-${id}`;
  let quiesce = quiesceWanted;
  // The pre-checks pinged the agent, but pre_backup_commands may have run since: ask again right
  // before freezing. A freeze sent to a hung agent waits inside libvirtd however we time it out.
  if (quiesce && t.agentSec !== undefined && !(await host.virsh.agentPing(vm, t.agentSec))) {
    warnings.push(`guest agent stopped answering before the freeze: fell back to a crash-consistent snapshot`);
    quiesce = false;
  }
  if (!quiesce) {
    await host.virsh.snapshotDiskOnly(vm, name, overlayFiles, skipped, false);
    return { overlays, consistency: 'crash', warnings, freezeMs: 0 };
  }
  const t0 = performance.now();
  let freezeMs = 0;
  try {
    // libvirt freezes, snapshots and thaws; our timeout bounds how long that may take.
    await host.virsh.snapshotDiskOnly(vm, name, overlayFiles, skipped, true, t.freezeSec * 1000);
    freezeMs = performance.now() - t0;
    return { overlays, consistency: 'application', warnings, freezeMs };
  } catch (e) {
    freezeMs = performance.now() - t0;
    const msg = (e as Error).message;
    if (!AGENT_TROUBLE.test(msg) && !/timed out/.test(msg)) throw e;
    await ensureThawed(host, vm, warnings);
    // The snapshot may have been taken before the failure (e.g. the thaw step failed): look before retrying.
    const live = await host.virsh.info(vm);
    const onOverlay = live.disks.some((d) => [...overlays.values()].some((o) => o.overlay === d.source));
    if (onOverlay) {
      warnings.push(`quiesced snapshot reported an error after it was taken (${msg.split(': ').slice(-1)[0]})`);
      return { overlays, consistency: 'application', warnings, freezeMs };
    }
    warnings.push(`quiesce failed (${msg.split(': ').slice(-1)[0]}): fell back to a crash-consistent snapshot`);
    await host.virsh.snapshotDiskOnly(vm, name, overlayFiles, skipped, false);
    return { overlays, consistency: 'crash', warnings, freezeMs };
  } finally {
    await ensureThawed(host, vm, warnings);
  }
}

/** Thaw, then check with guest-fsfreeze-status; a guest still frozen is an error, never silent. */
export async function ensureThawed(host: Host, vm: string, warnings: string[]): Promise<void> {
  await host.virsh.thaw(vm);
  const s = await host.virsh.freezeStatus(vm);
  if (s === 'frozen') {
    await host.virsh.thaw(vm);
    if ((await host.virsh.freezeStatus(vm)) === 'frozen') throw new Error(`${vm}: guest filesystems are still frozen after thaw`);
    warnings.push('guest needed a second thaw');
  }
}

/** Commit one overlay into its base and pivot, retrying transient failures; then delete the overlay. */
export async function commitOverlay(host: Host, vm: string, target: string, o: { base: string; overlay: string }, t: SnapshotTimeouts, attempts = 3): Promise<void> {
  let last: Error | undefined;
  for (let i = 1; i <= attempts; i++) {
    try {
      // Someone (an earlier attempt, a recovery) may have pivoted already: then only the file is left.
      const now = (await host.virsh.info(vm)).disks.find((d) => d.target === target);
      if (now?.source === o.base) { await host.fs.removeFile(o.overlay); return; }
      const job = await host.virsh.blockjob(vm, target);
      if (!job) await host.virsh.blockcommitActive(vm, target, t.commitSec);
      const ready = await host.virsh.blockjob(vm, target);
      if (ready && !ready.ready) throw new Error(`block job on ${target} not ready (${ready.cur}/${ready.end})`);
      if (ready) await host.virsh.pivot(vm, target);
      const after = (await host.virsh.info(vm)).disks.find((d) => d.target === target);
      if (after?.source !== o.base) throw new Error(`after pivot ${target} runs on ${after?.source ?? 'nothing'}, not ${o.base}`);
      await host.fs.removeFile(o.overlay);
      return;
    } catch (e) {
      last = e as Error;
      if (i < attempts) await new Promise((r) => setTimeout(r, 1000 * i));
    }
  }
  throw new Error(`blockcommit of ${vm}:${target} failed after ${attempts} attempts; the VM still runs on ${o.overlay}, which was kept: ${last?.message}`);
}

/** Commit every overlay; reports all failures together (one disk failing does not strand the others). */
export async function commitAll(host: Host, vm: string, overlays: ReadonlyMap<string, { base: string; overlay: string }>, t: SnapshotTimeouts): Promise<void> {
  const errors: string[] = [];
  for (const [target, o] of overlays) {
    try { await commitOverlay(host, vm, target, o, t); } catch (e) { errors.push((e as Error).message); }
  }
  if (errors.length) throw new Error(errors.join('; '));
}
