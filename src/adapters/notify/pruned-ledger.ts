// What retention deleted since the last digest, per VM, kept in the state file so a daemon restart
// between two digests does not lose it; the digest takes (and clears) it.
import type { PrunedSinceDigest } from '../../core/notify-digest.js';
import type { StateStore } from '../store/state-store.js';

/** state.json key: VM → backup ids pruned since the last digest. */
export const PRUNED_KEY = 'prunedSinceDigest';

/** Most ids kept per VM between two digests (the digest names at most a few and counts the rest). */
export const MAX_LEDGER_IDS = 1000;

function ledgerOf(v: unknown): Record<string, string[]> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const out: Record<string, string[]> = {};
  for (const [vm, ids] of Object.entries(v)) if (Array.isArray(ids)) out[vm] = ids.filter((x): x is string => typeof x === 'string');
  return out;
}

/** Adds `ids` to `vm`'s list of points pruned since the last digest. */
export async function recordPrunedIds(store: StateStore, vm: string, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  await store.update((d) => {
    const l = ledgerOf(d[PRUNED_KEY]);
    l[vm] = [...new Set([...(l[vm] ?? []), ...ids])].slice(-MAX_LEDGER_IDS);
    d[PRUNED_KEY] = l;
  });
}

/** What was pruned since the last digest, cleared in the same locked write: the next period starts empty. */
export async function takePrunedIds(store: StateStore): Promise<PrunedSinceDigest> {
  let taken: PrunedSinceDigest = {};
  await store.update((d) => { taken = ledgerOf(d[PRUNED_KEY]); d[PRUNED_KEY] = {}; });
  return taken;
}
