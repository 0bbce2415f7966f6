// The chain summary shown in status/vms/<vm>.yaml: the newest point's chain (its full, its length)
// next to the policy's full_every, from the recorded restore points alone. Pure.
import { newestIdFirst } from '../backup-layout.js';
import type { Incremental, RestorePoint } from '../model.js';

export interface ChainSummary {
  /** The full at the root of the newest point's chain; absent when no point is recorded or the chain is broken. */
  full?: string;
  /** Points in that chain, the full included. */
  length?: number;
  full_every: number;
  full_every_days?: number;
  /** Why the newest chain cannot be followed to its full (a missing parent, a loop). */
  broken?: string;
}

export function chainSummary(points: readonly RestorePoint[], policy: Incremental): ChainSummary {
  const base: ChainSummary = { full_every: policy.fullEvery, ...(policy.fullEveryDays !== undefined ? { full_every_days: policy.fullEveryDays } : {}) };
  const byId = new Map(points.map((p) => [p.id, p]));
  let cur = [...points].sort(newestIdFirst)[0];
  if (cur === undefined) return base;
  const seen = new Set<string>();
  while (cur.parent !== undefined) {
    seen.add(cur.id);
    const parent: RestorePoint | undefined = byId.get(cur.parent);
    if (parent === undefined || seen.has(parent.id)) return { ...base, broken: `${cur.id}'s parent ${cur.parent} ${parent === undefined ? 'is not recorded' : 'loops'}` };
    cur = parent;
  }
  return { ...base, full: cur.id, length: seen.size + 1 };
}
