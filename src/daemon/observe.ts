// Gathers the Observed state for one reconcile: every hypervisor (batched, in parallel, each
// failure isolated to its host), every VM directory on backup storage (including VMs that left
// the repo), and the run history. Read-only.
import { isOurOverlay } from '../core/backup-layout.js';
import type { DesiredState } from '../core/model.js';
import type { Observed } from '../core/reconcile/types.js';
import type { StateStore } from '../adapters/store/state-store.js';
import { readPauses } from '../adapters/store/pauses.js';
import type { EngineContext } from '../engine/context.js';
import { observeHost } from '../engine/observe-host.js';
import { observeStorage } from '../engine/observe-storage.js';

// Hypervisors observed at once: bounds the ssh handshakes, processes and file descriptors of the
// control host on a large fleet, and keeps the event loop (and every command's timeout) responsive.
const HOSTS_AT_ONCE = 32;

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => { while (next < items.length) await fn(items[next++]!); };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export interface RemovedVm { since: string; retention: DesiredState['vms'][number]['retention'] }

export async function gatherObserved(ctx: EngineContext, desired: DesiredState, removed: Record<string, RemovedVm>, store: StateStore): Promise<Observed> {
  const at = ctx.now().toISOString();
  const obs: Observed = { at, hosts: {}, storage: {}, runs: {}, removed };
  const byHost = new Map<string, string[]>();
  for (const v of desired.vms) { const l = byHost.get(v.hypervisor); if (l) l.push(v.name); else byHost.set(v.hypervisor, [v.name]); }
  const byName = new Map(desired.vms.map((v) => [v.name, v]));
  await eachLimited(desired.hypervisors, HOSTS_AT_ONCE, async (hv) => {
    const names = byHost.get(hv.name) ?? [];
    const o = await observeHost(ctx.hosts.get(hv.name), names);
    const leftovers: Record<string, string[]> = {};
    for (const [vm, info] of o.details) {
      const ours = info.disks.map((d) => d.source).filter((s): s is string => isOurOverlay(s));
      if (ours.length) leftovers[vm] = ours;
    }
    obs.hosts[hv.name] = { reachable: o.reachable && !o.error, ...(o.error ? { error: o.error } : {}), domains: Object.fromEntries(o.domains), leftoverOverlays: leftovers };
  });
  obs.storage = await observeStorage(ctx.storage, (vm) => byName.get(vm)?.hypervisor);
  const backups = new Map<string, { status: string; started: string }[]>(); // finished backups per VM
  for (const r of await store.runs()) {
    const cur = obs.runs[r.vm] ?? {};
    if (r.kind === 'backup' && r.status !== 'running') {
      const l = backups.get(r.vm);
      if (l) l.push(r); else backups.set(r.vm, [r]);
      if (!cur.lastBackup || r.started > cur.lastBackup.time) cur.lastBackup = { time: r.started, status: r.status, ...(r.revision ? { revision: r.revision } : {}) };
    }
    if (r.kind === 'test-restore' && r.status !== 'running' && r.backupId && (!cur.lastTestRestore || r.started > cur.lastTestRestore.time)) cur.lastTestRestore = { time: r.started, backupId: r.backupId, result: r.status === 'ok' ? 'ok' : 'failed' };
    obs.runs[r.vm] = cur;
  }
  for (const [vm, cur] of Object.entries(obs.runs)) {
    if (cur.lastBackup?.status === 'failed') cur.lastBackup.failedInARow = failedInARow(backups.get(vm) ?? []);
  }
  // `vmbackup pause` / the API write these; the plan decides which are still in force.
  obs.pauses = await readPauses(store);
  return obs;
}

/** Consecutive failed backups, newest first, up to the first that did not fail. */
function failedInARow(backups: readonly { status: string; started: string }[]): number {
  const newestFirst = [...backups].sort((a, b) => (a.started < b.started ? 1 : -1));
  let n = 0;
  for (const r of newestFirst) { if (r.status !== 'failed') break; n++; }
  return n;
}
