// Chains in retention: an incremental is only as good as every point it depends on, and a point
// that a kept point depends on is never deleted (kept as `base of <id>`; no synthetic full here).
import type { RestorePoint, RetentionDecision } from './model.js';

const pointGood = (p: RestorePoint): boolean => p.status === 'ok' && p.verify === 'ok';

function badness(p: RestorePoint): string {
  if (p.status !== 'ok') return 'is a failed backup';
  return p.verify === 'failed' ? 'failed verification' : 'is unverified';
}

/**
 * For each point whose chain is not good although the point itself may be: why (a missing, failed,
 * unverified or looping ancestor). Points absent from the map have a sound chain (or are bad themselves).
 */
export function chainProblems(points: readonly RestorePoint[]): Map<string, string> {
  const byId = new Map(points.map((p) => [p.id, p]));
  const memo = new Map<string, string | undefined>();
  const walk = (p: RestorePoint, seen: Set<string>): string | undefined => {
    if (memo.has(p.id)) return memo.get(p.id);
    let why: string | undefined;
    if (p.kind === 'incremental' && p.parent === undefined) why = `incremental ${p.id} names no parent`;
    else if (p.parent !== undefined) {
      const parent = byId.get(p.parent);
      if (seen.has(p.parent)) why = `the chain loops at ${p.parent}`;
      else if (parent === undefined) why = `ancestor ${p.parent} is missing`;
      else if (!pointGood(parent)) why = `ancestor ${p.parent} ${badness(parent)}`;
      else why = walk(parent, new Set([...seen, p.id]));
    }
    memo.set(p.id, why);
    return why;
  };
  const out = new Map<string, string>();
  for (const p of points) {
    const why = walk(p, new Set([p.id]));
    if (why !== undefined) out.set(p.id, why);
  }
  return out;
}

/**
 * Keeps every ancestor of a kept point (`base of <id>`, the newest kept dependent first).
 * `decisions` is in the order of `points`; `newestFirst` lists point indexes newest first.
 */
export function keepBases(points: readonly RestorePoint[], decisions: RetentionDecision[], newestFirst: readonly number[]): void {
  const index = new Map(points.map((p, i) => [p.id, i]));
  for (const i of newestFirst) {
    if (decisions[i]!.action !== 'keep') continue;
    const seen = new Set<string>([points[i]!.id]);
    let parent = points[i]!.parent;
    while (parent !== undefined && !seen.has(parent)) {
      seen.add(parent);
      const j = index.get(parent);
      if (j === undefined) break;
      if (decisions[j]!.action === 'prune') decisions[j] = { id: parent, action: 'keep', reasons: [`base of ${points[i]!.id}`] };
      parent = points[j]!.parent;
    }
  }
}
