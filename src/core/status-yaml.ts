// The YAML status files: `status/vms/<vm>.yaml` and `status/summary.yaml`. Keys are emitted in a
// fixed order and lists are sorted, so the same data always gives the same bytes (and no commit).
// `parseStatusRestorePoints` (status-file.ts) reads `vm` and `restore_points[].{id,time,status,verify,kind,parent}` back.
import { Document } from 'yaml';
import type { Condition, FleetSummary, VmStatus } from './status-model.js';
import { humanBytes, humanDuration } from './status-format.js';

const HEADER = ' Written by vmbackup after each run; edits here are overwritten.';

/** Drops undefined fields so optional data leaves no `null` keys behind. */
function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Copies the keys in the given order, whatever order the producer built the object in. */
function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function condition(c: Condition): Record<string, unknown> {
  return { type: c.type, status: c.status, reason: c.reason, message: c.message, last_transition_time: c.lastTransitionTime };
}

function toText(data: unknown): string {
  const doc = new Document(data, { sortMapEntries: false });
  doc.commentBefore = HEADER;
  return doc.toString({ lineWidth: 0 });
}

export function renderVmYaml(s: VmStatus): string {
  const b = s.last_backup;
  const order = { Ready: 0, Stalled: 1 } as const;
  return toText(compact({
    vm: s.vm,
    hypervisor: s.hypervisor,
    policy: s.policy,
    observed: s.observed,
    conditions: [...s.conditions].sort((x, y) => order[x.type] - order[y.type]).map(condition),
    last_backup: b && compact({
      id: b.id,
      time: b.time,
      status: b.status,
      size: b.size_bytes === undefined ? undefined : humanBytes(b.size_bytes),
      size_bytes: b.size_bytes,
      duration: b.duration_ms === undefined ? undefined : humanDuration(b.duration_ms),
      duration_ms: b.duration_ms,
      method: b.method,
      consistency: b.consistency,
      warnings: b.warnings,
      error: b.error,
    }),
    next_due: s.next_due,
    paused: s.paused && { until: s.paused.until, reason: s.paused.reason, by: s.paused.by },
    window: s.window && compact({ open: s.window.open, next_start: s.window.next_start, text: s.window.text }),
    last_verify: s.last_verify && { time: s.last_verify.time, backup_id: s.last_verify.backup_id, result: s.last_verify.result },
    last_test_restore: s.last_test_restore && compact({ time: s.last_test_restore.time, backup_id: s.last_test_restore.backup_id, result: s.last_test_restore.result, probe: s.last_test_restore.probe, screenshot: s.last_test_restore.screenshot }),
    chain: s.chain && compact({ full: s.chain.full, length: s.chain.length, full_every: s.chain.full_every, full_every_days: s.chain.full_every_days, broken: s.chain.broken }),
    // Newest first: the one you would restore is on top.
    restore_points: [...s.restore_points].sort((x, y) => byString(y.id, x.id)).map((p) => compact({
      id: p.id,
      time: p.time,
      status: p.status,
      verify: p.verify,
      kind: p.kind,
      parent: p.parent,
      size_bytes: p.size_bytes,
      keep_reason: p.keep_reason,
    })),
  }));
}

/** VMs whose Ready condition is not True, for the summary and the README's attention list. */
export function notReady(statuses: VmStatus[]): { vm: string; hypervisor: string; status: string; reason: string; message: string }[] {
  return statuses
    .map((s) => ({ s, c: s.conditions.find((c) => c.type === 'Ready') }))
    .filter(({ c }) => c?.status !== 'True')
    .map(({ s, c }) => ({ vm: s.vm, hypervisor: s.hypervisor, status: c?.status ?? 'Unknown', reason: c?.reason ?? 'NoStatus', message: c?.message ?? '' }))
    .sort((a, b) => byString(a.vm, b.vm));
}

export function renderSummaryYaml(summary: FleetSummary, statuses: VmStatus[]): string {
  return toText(compact({
    generated_at: summary.generated_at,
    last_applied_revision: summary.last_applied_revision,
    last_attempted_revision: summary.last_attempted_revision,
    last_attempt_errors: summary.last_attempt_errors,
    totals: pick(summary.totals, ['vms', 'ready', 'failed', 'overdue', 'unknown', 'unprotected', 'missing']),
    not_ready: notReady(statuses).map(({ vm, status, reason }) => ({ vm, status, reason })),
    unprotected: [...summary.unprotected].sort((a, b) => byString(a.hypervisor, b.hypervisor) || byString(a.vm, b.vm)).map((u) => ({ hypervisor: u.hypervisor, vm: u.vm })),
    missing: [...summary.missing].sort(byString),
    storage: summary.storage && { used_bytes: summary.storage.used_bytes, total_bytes: summary.storage.total_bytes, percent: summary.storage.percent },
    backups_last_7d: pick(summary.backups_last_7d, ['ok', 'failed', 'size_bytes', 'duration_ms']),
  }));
}

export { byString };
