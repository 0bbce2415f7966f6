// Storage analytics for the console: backup bytes per hypervisor and per VM (from the restore
// points in the status), one history sample per day (capped), and the 80% alert. Pure.
import type { VmStatus } from '../status-model.js';

export interface Sample { day: string; used_bytes: number; total_bytes?: number; by_hypervisor: Record<string, number>; by_vm: Record<string, number> }

export const ALERT_PERCENT = 80;
export const MAX_SAMPLES = 400;
export const SAMPLES_KEY = 'storage_samples';

/** Bytes of restore points per VM (`hypervisor/vm` keys would hide renames; VM names are unique) and per hypervisor. */
export function usageOf(statuses: readonly VmStatus[]): { by_hypervisor: Record<string, number>; by_vm: Record<string, number> } {
  const by_hypervisor: Record<string, number> = {};
  const by_vm: Record<string, number> = {};
  for (const s of statuses) {
    const bytes = s.restore_points.reduce((n, p) => n + (p.size_bytes ?? 0), 0);
    by_vm[s.vm] = bytes;
    by_hypervisor[s.hypervisor] = (by_hypervisor[s.hypervisor] ?? 0) + bytes;
  }
  return { by_hypervisor, by_vm };
}

/** Today's sample replaces an earlier one of the same day; oldest first, at most `cap`. */
export function addDailySample(samples: readonly Sample[], s: Sample, cap = MAX_SAMPLES): Sample[] {
  const out = samples.filter((x) => x.day !== s.day && x.day < s.day);
  out.push(s);
  return out.slice(-cap);
}

export function percentOf(used: number | undefined, total: number | undefined): number | undefined {
  if (used === undefined || !total) return undefined;
  return Math.round((used / total) * 1000) / 10;
}

/** Whether the samples stored in the state file are well-formed (a hand-edited file is ignored, not trusted). */
export function validSamples(v: unknown): Sample[] {
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is Sample => typeof x === 'object' && x !== null && typeof (x as Sample).day === 'string' && typeof (x as Sample).used_bytes === 'number'
    && typeof (x as Sample).by_vm === 'object' && typeof (x as Sample).by_hypervisor === 'object');
}
