// Builds the per-VM status and the fleet summary from one reconcile: desired × observed × plan ×
// run history × now. Pure; status-render.ts turns it into files under status/.
import type { DesiredState, RetentionDecision } from './model.js';
import type { Observed, ReconcilePlan } from './reconcile/types.js';
import { chainSummary } from './chain/summary.js';
import { decideRetention } from './retention.js';
import type { Condition, DayOutcome, FleetSummary, VmStatus } from './status-model.js';

export interface RunLite { vm: string; kind: string; started: string; status: string; warnings: string[]; backupId?: string; sizeBytes?: number; finished?: string; error?: string; method?: string; consistency?: string; steps?: readonly { name: string; ok: boolean; detail?: string }[] }

export interface StatusInput {
  desired: DesiredState;
  observed: Observed;
  plan: ReconcilePlan;
  runs: readonly RunLite[];
  now: string;
  appliedRevision?: string;
  attemptedRevision?: string;
  attemptErrors: string[];
  attemptedAt?: string;
  storage?: { usedBytes: number; totalBytes: number };
  historyDays?: number;
  /**
   * When each VM's conditions last changed status (`<vm>/<type>` → status and time), from the
   * previous status: a condition whose status is unchanged keeps its time, so an idle reconcile
   * renders byte-identical files and commits nothing (Kubernetes' lastTransitionTime).
   */
  transitions?: Readonly<Record<string, ConditionTransition>>;
}

export interface ConditionTransition { status: Condition['status']; time: string }

/**
 * Storage figures move with every write on a shared mount; a status commit is due only when usage
 * crosses a whole percent: report used bytes in steps of 1% of the total (at least 1 MiB).
 */
export function coarseBytes(used: number, total: number): number {
  const granule = Math.max(2 ** 20, Math.floor(total / 100));
  return Math.min(total, Math.floor(used / granule) * granule);
}

/** Whole percent used, rounded down (so 99.6% is not reported full). */
export const coarsePercent = (used: number, total: number): number => (total > 0 ? Math.floor((used / total) * 100) : 0);

function dayOf(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
}

/** One calendar cell per day: ok, failed, warning (warnings, or a failure then a success), or none. */
export function dayOutcomes(runs: readonly RunLite[], now: string, timeZone: string, days: number): { day: string; outcome: DayOutcome }[] {
  const by = new Map<string, { ok: boolean; failed: boolean; warn: boolean }>();
  for (const r of runs) {
    if (r.kind !== 'backup' || r.status === 'running') continue;
    const d = dayOf(r.started, timeZone);
    const f = by.get(d) ?? { ok: false, failed: false, warn: false };
    if (r.status === 'ok') { f.ok = true; if (r.warnings.length) f.warn = true; } else f.failed = true;
    by.set(d, f);
  }
  const outcome = (f: { ok: boolean; failed: boolean; warn: boolean } | undefined): DayOutcome =>
    !f ? 'none' : f.failed && !f.ok ? 'failed' : f.failed || f.warn ? 'warning' : 'ok';
  const out: { day: string; outcome: DayOutcome }[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = dayOf(new Date(Date.parse(now) - i * 86_400_000).toISOString(), timeZone);
    out.push({ day: d, outcome: outcome(by.get(d)) });
  }
  return out;
}

export function buildStatus(i: StatusInput): { statuses: VmStatus[]; summary: FleetSummary; transitions: Record<string, ConditionTransition> } {
  const { desired, observed, plan, now } = i;
  const transitions: Record<string, ConditionTransition> = {};
  let current = '';
  const cond = (type: Condition['type'], status: Condition['status'], reason: string, message: string, at: string): Condition => {
    const key = `${current}/${type}`;
    const prev = i.transitions?.[key];
    const time = prev && prev.status === status ? prev.time : at;
    transitions[key] = { status, time };
    return { type, status, reason, message, lastTransitionTime: time };
  };
  const tz = desired.settings.timeZone;
  const statuses: VmStatus[] = [];
  const refused = new Set(plan.actions.filter((a) => a.kind === 'report' && a.what === 'prune-refused').map((a) => (a.kind === 'report' ? a.subject : '')));
  let ready = 0; let failed = 0; let overdue = 0; let unknown = 0;
  for (const vm of desired.vms) {
    current = vm.name;
    const note = plan.vmNotes[vm.name];
    const host = observed.hosts[vm.hypervisor];
    const points = observed.storage[vm.name]?.points ?? [];
    const decisions = new Map<string, RetentionDecision>(decideRetention(points, vm.retention, { now, timeZone: tz }).map((d) => [d.id, d]));
    const runs = i.runs.filter((r) => r.vm === vm.name);
    const lastBackup = runs.filter((r) => r.kind === 'backup' && r.status !== 'running').sort((a, b) => (a.started < b.started ? 1 : -1))[0];
    const lastVerify = runs.filter((r) => r.kind === 'verify' && r.backupId).sort((a, b) => (a.started < b.started ? 1 : -1))[0];
    const lastTest = runs.filter((r) => r.kind === 'test-restore' && r.backupId && r.status !== 'running').sort((a, b) => (a.started < b.started ? 1 : -1))[0];
    const conditions: Condition[] = [];
    if (!vm.enabled) conditions.push(cond('Ready', 'True', 'Disabled', 'backups are disabled for this VM (enabled: false)', now));
    else if (note?.unknown) { unknown++; conditions.push(cond('Ready', 'Unknown', 'HostUnreachable', host?.error ?? `${vm.hypervisor} could not be observed`, now)); }
    else if (note?.missing) conditions.push(cond('Ready', 'False', 'NotFound', `not defined on ${vm.hypervisor}`, now), cond('Stalled', 'True', 'NotFound', 'fix the repo or the hypervisor', now));
    else if (lastBackup && lastBackup.status !== 'ok') { failed++; conditions.push(cond('Ready', 'False', 'BackupFailed', lastBackup.error ?? `last backup ${lastBackup.status}`, now)); }
    else if (note?.overdue && note.paused) conditions.push(cond('Ready', 'False', 'Paused', `backups held until ${note.paused.until} (${note.paused.reason}, by ${note.paused.by}); ${points.length ? `no good backup since the run due ${note.nextDue ?? ''}` : 'no backup yet'}`, now));
    else if (note?.overdue) { overdue++; conditions.push(cond('Ready', 'False', points.length ? 'Overdue' : 'NoBackupYet', points.length ? `no good backup since the run due ${note.nextDue ?? ''}` : 'no backup yet', now)); }
    else { ready++; conditions.push(cond('Ready', 'True', 'BackupSucceeded', `last good backup ${points.filter((p) => p.status === 'ok').map((p) => p.time).sort().at(-1) ?? ''}`, now)); }
    if (refused.has(vm.name)) conditions.push(cond('Stalled', 'True', 'PruneRefused', 'the mass-prune guard refused this pass; settings.allow_mass_prune allows it', now));
    statuses.push({
      vm: vm.name, hypervisor: vm.hypervisor, ...(vm.policy ? { policy: vm.policy } : {}),
      observed: note?.unknown ? 'unknown' : note?.missing ? 'missing' : (host?.domains[vm.name] === 'running' || host?.domains[vm.name] === 'shut off' || host?.domains[vm.name] === 'paused' ? host.domains[vm.name] as VmStatus['observed'] : 'unknown'),
      conditions,
      ...(lastBackup ? { last_backup: { ...(lastBackup.backupId ? { id: lastBackup.backupId } : {}), time: lastBackup.started, status: lastBackup.status === 'ok' ? 'ok' : lastBackup.status === 'interrupted' ? 'interrupted' : 'failed', ...(lastBackup.sizeBytes !== undefined ? { size_bytes: lastBackup.sizeBytes } : {}), ...(lastBackup.finished ? { duration_ms: Date.parse(lastBackup.finished) - Date.parse(lastBackup.started) } : {}), ...(lastBackup.method ? { method: lastBackup.method } : {}), ...(lastBackup.consistency ? { consistency: lastBackup.consistency } : {}), warnings: lastBackup.warnings, ...(lastBackup.error ? { error: lastBackup.error } : {}) } } : {}),
      restore_points: [...points].sort((a, b) => (a.id < b.id ? 1 : -1)).map((p) => ({ id: p.id, time: p.time, status: p.status, verify: p.verify, ...(p.kind ? { kind: p.kind } : {}), ...(p.parent ? { parent: p.parent } : {}), ...(p.sizeBytes !== undefined ? { size_bytes: p.sizeBytes } : {}), keep_reason: decisions.get(p.id)?.reasons ?? [] })),
      ...(vm.incremental.fullEvery > 1 || points.some((p) => p.parent !== undefined) ? { chain: chainSummary(points, vm.incremental) } : {}),
      ...(lastVerify ? { last_verify: { time: lastVerify.started, backup_id: lastVerify.backupId!, result: lastVerify.status === 'ok' ? 'ok' : 'failed' } } : {}),
      ...(lastTest ? { last_test_restore: testRestoreStatus(lastTest) } : {}),
      ...(note?.nextDue ? { next_due: note.nextDue } : {}),
      ...(note?.paused ? { paused: { until: note.paused.until, reason: note.paused.reason, by: note.paused.by } } : {}),
      ...(note?.window ? { window: { open: note.window.open, ...(note.window.nextStart ? { next_start: note.window.nextStart } : {}), text: note.window.text } } : {}),
      history: dayOutcomes(runs, now, tz, i.historyDays ?? 30),
    });
  }
  const unprotected = plan.actions.flatMap((a) => (a.kind === 'report' && a.what === 'unprotected' ? [{ hypervisor: a.subject.split('/')[0]!, vm: a.subject.split('/')[1]! }] : []));
  const missing = plan.actions.flatMap((a) => (a.kind === 'report' && a.what === 'missing' ? [a.subject] : []));
  const week = i.runs.filter((r) => r.kind === 'backup' && r.status !== 'running' && Date.parse(now) - Date.parse(r.started) < 7 * 86_400_000);
  // generated_at is the newest thing that happened (a run or an attempt), not the clock: an idle
  // reconcile must render byte-identical files, or every pass would commit.
  const events = [...i.runs.map((r) => r.finished ?? r.started), ...(i.attemptedAt ? [i.attemptedAt] : [])].sort();
  const summary: FleetSummary = {
    generated_at: events.at(-1) ?? now,
    ...(i.appliedRevision ? { last_applied_revision: i.appliedRevision } : {}),
    ...(i.attemptedRevision ? { last_attempted_revision: i.attemptedRevision } : {}),
    last_attempt_errors: i.attemptErrors,
    totals: { vms: desired.vms.length, ready, failed, overdue, unknown, unprotected: unprotected.length, missing: missing.length },
    unprotected, missing,
    ...(i.storage ? { storage: { used_bytes: coarseBytes(i.storage.usedBytes, i.storage.totalBytes), total_bytes: i.storage.totalBytes, percent: coarsePercent(i.storage.usedBytes, i.storage.totalBytes) } } : {}),
    backups_last_7d: { ok: week.filter((r) => r.status === 'ok').length, failed: week.filter((r) => r.status !== 'ok').length, size_bytes: week.reduce((n, r) => n + (r.sizeBytes ?? 0), 0), duration_ms: week.reduce((n, r) => n + (r.finished ? Date.parse(r.finished) - Date.parse(r.started) : 0), 0) },
  };
  return { statuses: statuses.sort((a, b) => a.vm.localeCompare(b.vm)), summary, transitions };
}

/** The last test-restore for the status files: its result, the probe's evidence and where its screenshot is. */
function testRestoreStatus(r: RunLite): NonNullable<VmStatus['last_test_restore']> {
  const probe = r.steps?.find((s) => s.name === 'probe');
  const shot = r.steps?.find((s) => s.name === 'screenshot' && s.ok);
  return {
    time: r.started, backup_id: r.backupId!, result: r.status === 'ok' ? 'ok' : 'failed',
    ...(probe?.detail ? { probe: probe.detail.length > 300 ? `${probe.detail.slice(0, 299)}…` : probe.detail } : {}),
    ...(shot?.detail ? { screenshot: shot.detail } : {}),
  };
}
