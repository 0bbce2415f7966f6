// The scheduled digest (seed 002's Sunday-evening summary) and the storage alert, built from
// the fleet summary and per-VM statuses the daemon writes back. Pure.
import type { AuditEntry } from './audit/entry.js';
import type { FleetSummary, VmStatus } from './status-model.js';
import { capLines, formatBytes, formatDuration, formatTime, shortRev, truncate } from './notify-format.js';
import { STORAGE_ALERT_PERCENT, type NotifySection, type NotifyView, type ViewOptions } from './notify-view.js';

/** Most VM lines per digest section; the rest are counted. */
export const MAX_DIGEST_LINES = 20;
/** Most backup ids named per VM in the "Pruned" section; the rest are counted. */
export const MAX_PRUNED_IDS = 10;

/** Most ad-hoc actions listed per digest; the rest are counted. */
export const MAX_ADHOC_LINES = 10;

/** Backup ids deleted by retention since the previous digest, per VM (kept by the daemon across restarts). */
export type PrunedSinceDigest = Readonly<Record<string, readonly string[]>>;

type Storage = NonNullable<FleetSummary['storage']>;

export function storageAlerting(s: FleetSummary['storage']): s is Storage {
  return s !== undefined && s.percent > STORAGE_ALERT_PERCENT;
}

function storageText(s: Storage): string {
  return `${formatBytes(s.used_bytes)} of ${formatBytes(s.total_bytes)} (${Math.round(s.percent)}%)`;
}

function alertText(s: Storage): string {
  return `Backup storage is ${Math.round(s.percent)}% full (above ${STORAGE_ALERT_PERCENT}%): ${storageText(s)}`;
}

function failedLines(statuses: readonly VmStatus[]): string[] {
  return statuses
    .filter((s) => s.last_backup && s.last_backup.status !== 'ok')
    .map((s) => `${s.vm} (${s.hypervisor}): ${s.last_backup?.error ?? s.last_backup?.status ?? 'failed'}`);
}

function overdueLines(statuses: readonly VmStatus[], tz?: string): string[] {
  return statuses
    .filter((s) => s.conditions.some((c) => c.reason === 'Overdue'))
    .map((s) => `${s.vm} (${s.hypervisor}): last good backup ${lastGood(s, tz)}`);
}

function lastGood(s: VmStatus, tz?: string): string {
  const ok = s.restore_points.filter((p) => p.status === 'ok').map((p) => p.time).sort().at(-1);
  return ok ? formatTime(ok, tz) : 'never';
}

function section(title: string, lines: string[]): NotifySection[] {
  return lines.length ? [{ title, lines: capLines(lines, MAX_DIGEST_LINES) }] : [];
}

/** `prod-db-01: 2026-01-03-170015, 2026-01-10-170012` per VM, ids sorted and capped. */
function prunedLines(pruned: PrunedSinceDigest): string[] {
  return Object.keys(pruned).sort().filter((vm) => pruned[vm]!.length > 0).map((vm) => {
    const ids = [...new Set(pruned[vm])].sort();
    const shown = ids.slice(0, MAX_PRUNED_IDS).join(', ');
    return `${vm}: ${shown}${ids.length > MAX_PRUNED_IDS ? ` and ${ids.length - MAX_PRUNED_IDS} more` : ''}`;
  });
}

/** `app-01 (hv1): until 2026-12-20 08:00:00 UTC: disk migration (by api:alice)` per paused VM. */
function pausedLines(statuses: readonly VmStatus[], tz?: string): string[] {
  return statuses.filter((s) => s.paused).map((s) => `${s.vm} (${s.hypervisor}): until ${formatTime(s.paused!.until, tz)}: ${s.paused!.reason} (by ${s.paused!.by})`);
}

/**
 * One line per ad-hoc act of the period, oldest first: the lines of one queued action (accepted,
 * then ok/failed/cancelled, and any cancel act) share an action_id and make one line with the act,
 * VM and requester of the first and the end of the last; acts without an id (pause, resume, a
 * refusal) are a line each; logins are not acts on the fleet and are left out.
 */
export function adhocLines(entries: readonly AuditEntry[], tz?: string): string[] {
  const groups: AuditEntry[][] = [];
  const byId = new Map<string, AuditEntry[]>();
  for (const e of entries) {
    if (e.act === 'login') continue;
    const g = e.action_id ? byId.get(e.action_id) : undefined;
    if (g) { g.push(e); continue; }
    groups.push([e]);
    if (e.action_id) byId.set(e.action_id, groups.at(-1)!);
  }
  return groups.map((g) => {
    const head = g.find((e) => e.act !== 'cancel') ?? g[0]!;
    const end = [...g].reverse().find((e) => e.act === head.act && e.result !== 'accepted');
    const result = end ? end.result : head.result === 'accepted' ? 'not finished yet' : head.result;
    const detail = (end ?? head).detail;
    return `${formatTime(head.at, tz)}: ${head.act}${head.vm ? ` ${head.vm}` : ''} by ${head.by}: ${result}${detail ? ` (${truncate(detail, 120)})` : ''}`;
  });
}

export function digestView(summary: FleetSummary, statuses: readonly VmStatus[], o: ViewOptions, pruned: PrunedSinceDigest = {}, adhoc: readonly AuditEntry[] = []): NotifyView {
  const time = o.now.toISOString();
  const timeText = formatTime(time, o.timeZone);
  const t = summary.totals;
  const b = summary.backups_last_7d;
  const st = summary.storage;
  const alert = storageAlerting(st);
  const failed = failedLines(statuses);
  const overdue = overdueLines(statuses, o.timeZone);
  const prunedVms = prunedLines(pruned);
  const prunedCount = Object.values(pruned).reduce((n, ids) => n + new Set(ids).size, 0);
  const paused = pausedLines(statuses, o.timeZone);
  const acts = adhocLines(adhoc, o.timeZone);
  const sections: NotifySection[] = [
    ...section(`Failed (${failed.length})`, failed),
    ...section(`Overdue (${overdue.length})`, overdue),
    ...section(`Unprotected (${summary.unprotected.length})`, summary.unprotected.map((u) => `${u.vm} (${u.hypervisor})`)),
    ...section(`Missing from hypervisors (${summary.missing.length})`, summary.missing),
    ...section('Config not applied', summary.last_attempt_errors.length
      ? [`revision ${shortRev(summary.last_attempted_revision ?? '?')}:`, ...summary.last_attempt_errors] : []),
    ...section(`Pruned since the last digest (${prunedCount} restore points of ${prunedVms.length} VMs)`, prunedVms),
    ...section(`Paused (${paused.length})`, paused),
    ...(acts.length ? [{ title: `Ad-hoc actions since the last digest (${acts.length})`, lines: capLines(acts, MAX_ADHOC_LINES) }] : []),
  ];
  const storageAlert = storageAlerting(st) ? alertText(st) : undefined;
  const problems = t.failed + b.failed > 0 || alert;
  return {
    kind: 'digest', time, timeText, sections,
    severity: problems ? 'error' : t.overdue + t.unprotected + t.missing > 0 ? 'warning' : 'ok',
    title: 'Backup summary: last 7 days',
    summary: `${t.vms} VMs: ${t.ready} ready, ${t.failed} failed, ${t.overdue} overdue. Last 7 days: ${b.ok} backups succeeded, ${b.failed} failed, ${formatBytes(b.size_bytes)} in ${formatDuration(b.duration_ms)}.`,
    fields: [
      { label: 'Total VMs', value: String(t.vms) },
      { label: 'Ready', value: String(t.ready) },
      { label: 'Failed VMs', value: String(t.failed) },
      { label: 'Backups succeeded (7d)', value: String(b.ok) },
      { label: 'Backups failed (7d)', value: String(b.failed) },
      { label: 'Total size (7d)', value: formatBytes(b.size_bytes) },
      { label: 'Total duration (7d)', value: formatDuration(b.duration_ms) },
      { label: 'Overdue', value: String(t.overdue) },
      { label: 'Unprotected', value: String(t.unprotected) },
      { label: 'Storage', value: summary.storage ? storageText(summary.storage) : 'unknown' },
    ],
    ...(storageAlert ? { details: storageAlert } : {}),
    data: {
      totals: { ...t }, backupsLast7d: { ...b },
      ...(summary.storage ? { storage: { ...summary.storage } } : {}),
      storageAlert: alert, ...(storageAlert ? { storageAlertText: storageAlert } : {}),
      storageAlertPercent: STORAGE_ALERT_PERCENT,
      failedVms: failed.length, overdueVms: overdue.length, prunedPoints: prunedCount, pausedVms: paused.length, adhocActions: acts.length,
      ...(summary.last_applied_revision ? { appliedRevision: summary.last_applied_revision } : {}),
    },
  };
}

/** The storage alert on its own (sent when usage crosses the threshold), or undefined below it. */
export function storageView(summary: FleetSummary, o: ViewOptions): NotifyView | undefined {
  const s = summary.storage;
  if (!storageAlerting(s)) return undefined;
  const time = o.now.toISOString();
  const timeText = formatTime(time, o.timeZone);
  const text = alertText(s);
  return {
    kind: 'storage', severity: 'error', time, timeText, sections: [], details: text,
    title: `Backup storage ${Math.round(s.percent)}% full`, summary: text,
    fields: [
      { label: 'Used', value: formatBytes(s.used_bytes) },
      { label: 'Total', value: formatBytes(s.total_bytes) },
      { label: 'Percent', value: `${Math.round(s.percent)}%` },
      { label: 'Time', value: timeText },
    ],
    data: { storage: { ...s }, storageAlertPercent: STORAGE_ALERT_PERCENT },
  };
}
