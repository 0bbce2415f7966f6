// Chains of restore points as plain data: a full and the incrementals that (transitively) name it
// as parent. Pure: works on what the storage listing found (StoredBackup-like), trusts nothing else.
import type { BackupKind, Manifest } from '../manifest.js';

/** One stored point as the chain rules need it (structurally a StoredBackup). */
export interface ChainPoint {
  id: string;
  manifest?: Pick<Manifest, 'started' | 'files'> & Partial<Pick<Manifest, 'kind' | 'parent_backup_id' | 'checkpoint'>>;
  verification?: { result: 'ok' | 'failed' };
  /** Why the point is not usable as found on storage; absent when sound. */
  corrupt?: readonly string[];
}

export interface Chain {
  /** From the full to the asked point, oldest first; as far as it could be followed when broken. */
  ids: string[];
  /** Why the point cannot be restored from storage (a missing or corrupt ancestor, a loop); absent when whole. */
  broken?: string;
  /** Why the chain is not good for retention or as a parent: broken, or a verification failure in it. */
  notGood?: string;
}

export function kindOf(p: ChainPoint): BackupKind {
  return p.manifest?.kind === 'incremental' ? 'incremental' : 'full';
}

/** The parent a point names (incrementals only). */
export function parentOf(p: ChainPoint): string | undefined {
  return kindOf(p) === 'incremental' ? p.manifest?.parent_backup_id : undefined;
}

function unusable(p: ChainPoint): string | undefined {
  if (p.corrupt?.length) return `is corrupt (${p.corrupt[0]})`;
  if (!p.manifest) return 'has no readable manifest';
  return undefined;
}

/** The point `id` and every ancestor it depends on, up to its full. */
export function chainOf(points: readonly ChainPoint[], id: string): Chain {
  const byId = new Map(points.map((p) => [p.id, p]));
  const ids: string[] = [];
  let broken: string | undefined;
  let failed: string | undefined;
  let cur: string | undefined = id;
  while (cur !== undefined) {
    const p = byId.get(cur);
    const what = cur === id ? `point ${cur}` : `ancestor ${cur}`;
    if (ids.includes(cur)) { broken = `the chain of ${id} loops at ${cur}`; break; }
    if (p === undefined) { broken = `${what} of ${id} is missing (pruned or deleted)`; break; }
    ids.unshift(cur);
    const bad = unusable(p);
    if (bad !== undefined) { broken = `${what} ${bad}`; break; }
    if (failed === undefined && p.verification?.result === 'failed') failed = `${what} failed verification`;
    if (kindOf(p) === 'full') break;
    cur = parentOf(p);
    if (cur === undefined) { broken = `incremental ${p.id} names no parent`; break; }
  }
  const notGood = broken ?? failed;
  return { ids, ...(broken !== undefined ? { broken } : {}), ...(notGood !== undefined ? { notGood } : {}) };
}

/** Every point whose chain passes through `id` (not `id` itself), oldest first. */
export function dependents(points: readonly ChainPoint[], id: string): string[] {
  const children = new Map<string, string[]>();
  for (const p of points) {
    const parent = parentOf(p);
    if (parent !== undefined && parent !== p.id) children.set(parent, [...(children.get(parent) ?? []), p.id]);
  }
  const out = new Set<string>();
  const todo = [...(children.get(id) ?? [])];
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (c === id || out.has(c)) continue;
    out.add(c);
    todo.push(...(children.get(c) ?? []));
  }
  return [...out].sort();
}
