// Refusals and deletions are visible: after each pass, every prune the guard refused is counted and
// alerted (once per revision and VM), and every executed prune is counted per VM and kept for the digest.
import type { ActionResult } from './execute.js';

export interface PruneMetrics { recordPruned(vm: string, count?: number): void; recordPruneRefused(vm: string): void }
export interface PruneAlerts {
  pruneRefused?(revision: string, vm: string, message: string): Promise<unknown>;
  /** The backup ids of `vm` this pass deleted (kept for the digest). */
  pruned?(vm: string, ids: string[]): Promise<unknown>;
}

/** Counts and alerts what one pass's results say about prunes. `revision`: the revision in force. */
export async function reportPrunes(results: readonly ActionResult[], revision: string, metrics: PruneMetrics, alerts: PruneAlerts): Promise<void> {
  const pruned = new Map<string, string[]>();
  for (const r of results) {
    const a = r.action;
    if (a.kind === 'prune' && r.ok && r.detail?.startsWith('pruned ')) {
      metrics.recordPruned(a.vm);
      pruned.set(a.vm, [...(pruned.get(a.vm) ?? []), a.id]);
    }
    if (a.kind === 'report' && a.what === 'prune-refused') {
      metrics.recordPruneRefused(a.subject);
      await alerts.pruneRefused?.(revision, a.subject, a.message);
    }
  }
  for (const [vm, ids] of pruned) await alerts.pruned?.(vm, ids);
}
