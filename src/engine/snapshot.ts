// The external-snapshot dance around a copy: put the VM on overlays (quiesced when asked and the
// agent cooperates), and later commit every overlay back and pivot. An overlay file is deleted
// only after libvirt confirms the disk runs on its base again: a failed commit never loses data.
import type { DomainDisk } from '../core/domain-xml.js';
import { overlayPath } from '../core/backup-layout.js';
import type { Host } from './hosts.js';
import { quiesceFallback, type Consistency } from '../core/quiesce-policy.js';

export interface SnapshotResult {
  /** target → { base, overlay } for every disk that got an overlay. */
  overlays: Map<string, { base: string; overlay: string }>;
  /** filesystem: the guest's filesystems were frozen for the snapshot; crash: they were not. */
  consistency: Consistency;
  warnings: string[];
  freezeMs: number;
}

export interface SnapshotTimeouts { freezeSec: number; commitSec: number; /** Re-ping the agent right before freezing. */ agentSec?: number }

/** Snapshot `copy` disks externally; everything else gets snapshot=no. Thaw always runs after a quiesce attempt. */
export async function takeSnapshot(host: Host, vm: string, id: string, copy: readonly DomainDisk[], all: readonly DomainDisk[], quiesceWanted: boolean, t: SnapshotTimeouts, policy: { requireQuiesce?: boolean } = {}): Promise<SnapshotResult> {
  const overlays = new Map<string, { base: string; overlay: string }>();
  for (const d of copy) overlays.set(d.target, { base: d.source!, overlay: overlayPath(d.source!, vm, d.target, id) });
  const overlayFiles = new Map([...overlays].map(([k, v]) => [k, v.overlay]));
  const skipped = all.filter((d) => !overlays.has(d.target) && d.device === 'disk').map((d) => d.target);
  const warnings: string[] = [];
  const name = `vmbackup-${id}`;
  let quiesce = quiesceWanted;
  // The pre-checks pinged the agent, but pre_backup_commands may have run since: ask again right
  // before freezing, so a hung agent is found by a cheap ping rather than by a freeze.
  if (quiesce && t.agentSec !== undefined && !(await host.virsh.agentPing(vm, t.agentSec))) {
    const fb = quiesceFallback(policy, 'the guest agent stopped answering before the freeze', 'guest agent stopped answering before the freeze: fell back to a crash-consistent snapshot');
    if (fb.fail) throw new Error(fb.error); // nothing taken yet: nothing to undo
    warnings.push(fb.warning);
    quiesce = false;
  }
  if (!quiesce) {
    await host.virsh.snapshotDiskOnly(vm, name, overlayFiles, skipped, false);
    return { overlays, consistency: 'crash', warnings, freezeMs: 0 };
  }
  // We freeze, snapshot and thaw ourselves (not `--quiesce`), so every step has our deadline: the
  // freeze is bounded inside libvirt by the agent timeout, the snapshot by what is left of the
  // freeze budget, and the thaw always runs, followed by guest-fsfreeze-status.
  const t0 = performance.now();
  const deadline = t0 + t.freezeSec * 1000;
  let thawed = false;
  const thaw = async (): Promise<void> => { if (!thawed) { thawed = true; await ensureThawed(host, vm, warnings); } };
  try {
    const f = await host.virsh.freeze(vm, t.freezeSec);
    if (!f.ok) {
      await thaw(); // a freeze that lands late must meet a thaw queued behind it
      const fb = quiesceFallback(policy, `the freeze failed: ${f.error}`, `quiesce failed (${f.error}): fell back to a crash-consistent snapshot`);
      if (fb.fail) throw new Error(fb.error);
      warnings.push(fb.warning);
      await host.virsh.snapshotDiskOnly(vm, name, overlayFiles, skipped, false);
      return { overlays, consistency: 'crash', warnings, freezeMs: performance.now() - t0 };
    }
    let consistency: Consistency = 'filesystem';
    if (f.frozen === 0) {
      const fb = quiesceFallback(policy, 'the guest agent froze no filesystems', 'the guest agent froze no filesystems: the snapshot is only crash-consistent inside the guest');
      if (fb.fail) { await thaw(); throw new Error(fb.error); }
      warnings.push(fb.warning);
      consistency = fb.consistency;
    }
    try {
      await host.virsh.snapshotDiskOnly(vm, name, overlayFiles, skipped, false, Math.max(1000, deadline - performance.now()));
    } catch (e) {
      const msg = (e as Error).message;
      await thaw();
      // The snapshot may have completed inside libvirtd after our deadline: look before retrying.
      const live = await host.virsh.info(vm);
      if (live.disks.some((d) => [...overlays.values()].some((o) => o.overlay === d.source))) {
        warnings.push(`the snapshot outlasted the ${t.freezeSec} s freeze budget (${msg.split(': ').slice(-1)[0]}); the guest was thawed first, so the copy is crash-consistent`);
        return { overlays, consistency: 'crash', warnings, freezeMs: performance.now() - t0 };
      }
      if (!/timed out/.test(msg)) throw e;
      warnings.push(`snapshot of the frozen guest timed out after ${t.freezeSec} s: thawed, then fell back to a crash-consistent snapshot`);
      await host.virsh.snapshotDiskOnly(vm, name, overlayFiles, skipped, false);
      return { overlays, consistency: 'crash', warnings, freezeMs: performance.now() - t0 };
    }
    await thaw();
    return { overlays, consistency, warnings, freezeMs: performance.now() - t0 };
  } finally {
    await thaw();
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
