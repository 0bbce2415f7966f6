// Pauses live in the state store (key `pauses`), shared by the daemon, its API and the CLI:
// `vmbackup pause` and POST /api/v1/vms/:vm/pause write here; the reconcile reads it each pass.
import type { Pause } from '../../core/pause/pause.js';
import type { StateStore } from './state-store.js';

/** Every recorded pause (expired ones included: `activePauses` in core/pause decides), as on disk now. */
export async function readPauses(store: StateStore): Promise<Record<string, Pause>> {
  return { ...((await store.fresh()).pauses as Record<string, Pause> | undefined) };
}

/** Sets (or replaces) the pause of `p.vm`; expired pauses of other VMs are dropped on the way. */
export async function setPause(store: StateStore, p: Pause, now: string): Promise<void> {
  await store.update((d) => {
    const all = { ...(d.pauses as Record<string, Pause> | undefined) };
    for (const [vm, q] of Object.entries(all)) if (Date.parse(q.until) <= Date.parse(now)) delete all[vm];
    all[p.vm] = p;
    d.pauses = all;
  });
}

/** Ends the pause of `vm` now; returns the pause that was in force, if any. */
export async function clearPause(store: StateStore, vm: string): Promise<Pause | undefined> {
  let was: Pause | undefined;
  await store.update((d) => {
    const all = { ...(d.pauses as Record<string, Pause> | undefined) };
    was = all[vm];
    delete all[vm];
    d.pauses = all;
  });
  return was;
}
