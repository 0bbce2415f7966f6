// The daemon's metrics: a small mutable store the daemon updates as things happen, rendered by
// the pure core (src/core/metrics.ts) on each scrape. Every metric name lives in METRICS below.
//
// vmbackup_backup_duration_seconds is a GAUGE per VM (the last successful backup), not a
// histogram: each VM backs up about once a week, so a per-VM histogram would hold a handful of
// observations and rate()/histogram_quantile() over a scrape window would be empty; the last
// duration per VM plots and alerts directly ("took twice as long as last week"). Reconciles run
// every few minutes, so vmbackup_reconcile_duration_seconds is a histogram.
import { DURATION_BUCKETS, emptyHistogram, labelKey, observe, renderExposition, type HistogramSeries, type Labels, type MetricFamily } from '../../core/metrics.js';
import type { RunRecord } from '../store/state-store.js';
import type { VmStatus } from '../../core/status-model.js';

type Kind = 'counter' | 'gauge' | 'histogram';
const def = (type: Kind, help: string) => ({ type, help });

/** Every metric vmbackup exports, with its type and help text. */
export const METRICS = {
  vmbackup_build_info: def('gauge', 'Always 1; the version label is the running vmbackup version.'),
  vmbackup_config_info: def('gauge', 'Always 1; the revision label is the policy repository revision last applied.'),
  vmbackup_config_stalled: def('gauge', '1 when the last attempted revision could not be applied (invalid policy, render or apply error) and needs a fixing commit; the last applied revision stays in force.'),
  vmbackup_reconcile_duration_seconds: def('histogram', 'Time taken by one reconcile (load, observe, plan, apply).'),
  vmbackup_reconcile_total: def('counter', 'Reconciles finished, by result (ok, error).'),
  vmbackup_reconcile_triggers_total: def('counter', 'Reconcile passes started, by what triggered them (start, poll, local_change, webhook, sighup); a pass several triggers coalesced into counts once per reason.'),
  vmbackup_reconcile_last_success_timestamp_seconds: def('gauge', 'Unix time the last successful reconcile finished.'),
  vmbackup_vm_info: def('gauge', 'Always 1; one series per VM in the applied revision, with its hypervisor and policy.'),
  vmbackup_vm_ready: def('gauge', '1 when the VM is protected as its policy asks (Ready condition True), else 0.'),
  vmbackup_backup_success_total: def('counter', 'Backups that finished and were published, per VM, since the daemon started.'),
  vmbackup_backup_failure_total: def('counter', 'Backups that failed or were interrupted, per VM, since the daemon started.'),
  vmbackup_backup_last_success_timestamp_seconds: def('gauge', 'Unix time the last successful backup of the VM finished.'),
  vmbackup_backup_duration_seconds: def('gauge', 'Wall time of the last successful backup of the VM (a gauge: one backup a week is too few observations for a histogram).'),
  vmbackup_backup_size_bytes: def('gauge', 'Size on storage of the last successful backup of the VM.'),
  vmbackup_storage_used_bytes: def('gauge', 'Bytes used on the backup storage (settings.storage_root) as seen from the control host.'),
  vmbackup_storage_size_bytes: def('gauge', 'Total size of the backup storage.'),
  vmbackup_storage_used_ratio: def('gauge', 'Used fraction of the backup storage, 0 to 1.'),
  vmbackup_host_reachable: def('gauge', '1 when the hypervisor answered at the last observation (ssh + libvirt), else 0.'),
  vmbackup_pruned_total: def('counter', 'Restore points deleted by retention, per VM, since the daemon started.'),
  vmbackup_prune_refused_total: def('counter', 'Reconcile passes whose prunes of the VM the mass-prune guard refused, per VM, since the daemon started.'),
  vmbackup_vm_paused: def('gauge', '1 while a pause (vmbackup pause, the console) holds the VM\'s scheduled and catch-up backups, else 0.'),
  vmbackup_vm_paused_until_timestamp_seconds: def('gauge', 'Unix time the VM\'s pause ends by itself; only while the VM is paused.'),
  vmbackup_vm_window_open: def('gauge', '1 when the VM\'s backup window (policy window/blackout) lets a backup start now, else 0; only for VMs with a window or blackout.'),
  vmbackup_adhoc_actions_total: def('counter', 'Ad-hoc actions (console API, CLI) by kind (backup, verify, test-restore, prune, restore) and result (ok, failed, cancelled, refused), since the daemon started.'),
} as const satisfies Record<string, { type: Kind; help: string }>;

export type MetricName = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** What recordBackup needs of a run: a RunRecord from the state store fits. */
export type BackupRun = Pick<RunRecord, 'kind' | 'vm' | 'status' | 'started'> & Partial<Pick<RunRecord, 'finished' | 'sizeBytes'>>;

export interface VmInfo { name: string; hypervisor: string; policy?: string }

/** The console's action kinds and end results: their counters start at 0 so rate() sees the first one. */
export const ADHOC_KINDS = ['backup', 'verify', 'test-restore', 'prune', 'restore'] as const;
export const ADHOC_RESULTS = ['ok', 'failed', 'cancelled', 'refused'] as const;

interface Series { labels: Labels; value: number }
const toSec = (iso: string): number => Date.parse(iso) / 1000;

/** Runs at scrape time, before rendering: sets the values that are state (storage use, …). */
export type Collector = () => void | Promise<void>;

export class MetricsRegistry {
  private readonly values = new Map<MetricName, Map<string, Series>>();
  private readonly collectors: Collector[] = [];
  private readonly extra: (() => MetricFamily[])[] = [];
  private reconcile: HistogramSeries;

  constructor(opts: { version?: string; reconcileBuckets?: readonly number[] } = {}) {
    this.reconcile = emptyHistogram(opts.reconcileBuckets ?? DURATION_BUCKETS);
    this.set('vmbackup_build_info', { version: opts.version ?? 'unknown' }, 1);
    this.set('vmbackup_config_stalled', {}, 0);
    for (const result of ['ok', 'error']) this.set('vmbackup_reconcile_total', { result }, 0);
    for (const kind of ADHOC_KINDS) for (const result of ADHOC_RESULTS) this.set('vmbackup_adhoc_actions_total', { kind, result }, 0);
  }

  /** The fleet of the applied revision: VMs gone from it lose their series; new ones start at 0. */
  setVms(vms: readonly VmInfo[]): void {
    const names = new Set(vms.map((v) => v.name));
    for (const [metric, m] of this.values) {
      if (!/^vmbackup_(vm_|backup_|prune)/.test(metric)) continue;
      for (const [k, s] of m) if (s.labels.vm !== undefined && !names.has(s.labels.vm)) m.delete(k);
    }
    this.series('vmbackup_vm_info').clear();
    for (const v of vms) {
      this.set('vmbackup_vm_info', { vm: v.name, hypervisor: v.hypervisor, policy: v.policy ?? '' }, 1);
      for (const c of ['vmbackup_backup_success_total', 'vmbackup_backup_failure_total', 'vmbackup_pruned_total', 'vmbackup_prune_refused_total'] as const) {
        if (!this.series(c).has(labelKey({ vm: v.name }))) this.set(c, { vm: v.name }, 0);
      }
    }
  }

  /** The fleet as the last reconcile saw it: vm_info (and counters at 0) for every VM, vm_ready
   *  from the Ready condition, and host_reachable per hypervisor (0 when one of its VMs could not
   *  be observed because the host did not answer; `hosts`, when given, is every hypervisor of the
   *  policy, those with no VMs too). Series of VMs and hypervisors gone are dropped. */
  observeFleet(statuses: readonly VmStatus[], hosts?: Readonly<Record<string, boolean>>): void {
    this.setVms(statuses.map((s) => ({ name: s.vm, hypervisor: s.hypervisor, ...(s.policy ? { policy: s.policy } : {}) })));
    const reachable = new Map<string, boolean>();
    for (const s of statuses) {
      const ready = s.conditions.find((c) => c.type === 'Ready');
      this.setVmReady(s.vm, ready?.status === 'True');
      const down = ready?.reason === 'HostUnreachable';
      reachable.set(s.hypervisor, (reachable.get(s.hypervisor) ?? true) && !down);
    }
    if (hosts) for (const [hv, ok] of Object.entries(hosts)) reachable.set(hv, ok && (reachable.get(hv) ?? true));
    this.setHypervisors([...reachable.keys()]);
    for (const [hv, ok] of reachable) this.setHostReachable(hv, ok);
    this.observeHolds(statuses);
  }

  /** Pauses and windows as the last reconcile saw them: an ended pause or a removed window drops its series. */
  private observeHolds(statuses: readonly VmStatus[]): void {
    for (const name of ['vmbackup_vm_paused', 'vmbackup_vm_paused_until_timestamp_seconds', 'vmbackup_vm_window_open'] as const) this.series(name).clear();
    for (const s of statuses) {
      this.set('vmbackup_vm_paused', { vm: s.vm, hypervisor: s.hypervisor }, s.paused ? 1 : 0);
      const until = s.paused ? toSec(s.paused.until) : Number.NaN;
      if (Number.isFinite(until)) this.set('vmbackup_vm_paused_until_timestamp_seconds', { vm: s.vm }, until);
      if (s.window) this.set('vmbackup_vm_window_open', { vm: s.vm }, s.window.open ? 1 : 0);
    }
  }

  /**
   * One ad-hoc action ended (`ok`, `failed`, `cancelled`) or was refused (`refused`); `kind` is the
   * act (`backup`, `verify`, `test-restore`, `prune`, `restore`). Call once per action, not for `accepted`.
   */
  recordAdhoc(kind: string, result: string): void { this.add('vmbackup_adhoc_actions_total', { kind, result }, 1); }

  /** A callback run on every scrape (see scrape()), in the order added. */
  onCollect(fn: Collector): void { this.collectors.push(fn); }

  /** Families outside the vmbackup catalogue (process_*, nodejs_*), rendered after it. */
  addFamilies(fn: () => MetricFamily[]): void { this.extra.push(fn); }

  /** The /metrics body after running the collectors; a failing collector leaves its last values. */
  async scrape(): Promise<string> {
    for (const c of this.collectors) { try { await c(); } catch { /* keep the previous values */ } }
    return renderExposition([...this.families(), ...this.extra.flatMap((f) => f())]);
  }

  /** A finished backup run: counts it and, when it succeeded, sets the last-success gauges.
   *  Returns false (and records nothing) for other kinds of run and for runs still running. */
  recordBackup(run: BackupRun): boolean {
    if (run.kind !== 'backup' || run.status === 'running') return false;
    const vm = { vm: run.vm };
    if (run.status !== 'ok') { this.add('vmbackup_backup_failure_total', vm, 1); return true; }
    this.add('vmbackup_backup_success_total', vm, 1);
    this.setLastSuccess(run);
    return true;
  }

  /** After a restart: the last-success gauges from run history (counters are not replayed). */
  restoreFromHistory(runs: readonly BackupRun[]): void {
    const newest = new Map<string, BackupRun>();
    for (const r of runs) {
      if (r.kind !== 'backup' || r.status !== 'ok' || !r.finished) continue;
      const prev = newest.get(r.vm);
      if (!prev || toSec(r.finished) > toSec(prev.finished!)) newest.set(r.vm, r);
    }
    for (const r of newest.values()) this.setLastSuccess(r);
  }

  recordReconcile(ms: number, ok = true, finishedAt: Date = new Date()): void {
    this.reconcile = observe(this.reconcile, ms / 1000);
    this.add('vmbackup_reconcile_total', { result: ok ? 'ok' : 'error' }, 1);
    if (ok) this.set('vmbackup_reconcile_last_success_timestamp_seconds', {}, finishedAt.getTime() / 1000);
  }

  /** A reconcile pass started because of `reason` (poll, local_change, webhook, …). */
  recordTrigger(reason: string): void { this.add('vmbackup_reconcile_triggers_total', { reason }, 1); }

  /** The revision now applied; replaces the previous vmbackup_config_info series. */
  setRevision(revision: string): void {
    this.series('vmbackup_config_info').clear();
    this.set('vmbackup_config_info', { revision }, 1);
  }

  /** Restore points of `vm` deleted by retention. */
  recordPruned(vm: string, count = 1): void { this.add('vmbackup_pruned_total', { vm }, count); }
  /** A pass whose prunes of `vm` the mass-prune guard refused. */
  recordPruneRefused(vm: string): void { this.add('vmbackup_prune_refused_total', { vm }, 1); }

  setStalled(stalled: boolean): void { this.set('vmbackup_config_stalled', {}, stalled ? 1 : 0); }
  setVmReady(vm: string, ready: boolean): void { this.set('vmbackup_vm_ready', { vm }, ready ? 1 : 0); }
  setHostReachable(hypervisor: string, reachable: boolean): void { this.set('vmbackup_host_reachable', { hypervisor }, reachable ? 1 : 0); }

  /** Hypervisors gone from the fleet lose their reachability series. */
  setHypervisors(names: readonly string[]): void {
    const keep = new Set(names);
    const m = this.series('vmbackup_host_reachable');
    for (const [k, s] of m) if (!keep.has(s.labels.hypervisor ?? '')) m.delete(k);
  }

  setStorage(s: { usedBytes: number; totalBytes: number }): void {
    this.set('vmbackup_storage_used_bytes', {}, s.usedBytes);
    this.set('vmbackup_storage_size_bytes', {}, s.totalBytes);
    this.set('vmbackup_storage_used_ratio', {}, s.totalBytes > 0 ? s.usedBytes / s.totalBytes : 0);
  }

  /** Current value of one series, for tests and status output. */
  value(name: MetricName, labels: Labels = {}): number | undefined {
    return this.values.get(name)?.get(labelKey(labels))?.value;
  }

  families(): MetricFamily[] {
    return METRIC_NAMES.map((name): MetricFamily => {
      const { type, help } = METRICS[name];
      if (type === 'histogram') return { type, name, help, series: [this.reconcile] };
      return { type, name, help, samples: [...(this.values.get(name)?.values() ?? [])] };
    });
  }

  /** The /metrics body (Content-Type: CONTENT_TYPE from src/core/metrics.ts). */
  render(): string { return renderExposition(this.families()); }

  private setLastSuccess(run: BackupRun): void {
    const vm = { vm: run.vm };
    const finished = run.finished ? toSec(run.finished) : Number.NaN;
    if (Number.isFinite(finished)) {
      this.set('vmbackup_backup_last_success_timestamp_seconds', vm, finished);
      const started = toSec(run.started);
      if (Number.isFinite(started)) this.set('vmbackup_backup_duration_seconds', vm, Math.max(0, finished - started));
    }
    if (run.sizeBytes !== undefined) this.set('vmbackup_backup_size_bytes', vm, run.sizeBytes);
  }

  private series(name: MetricName): Map<string, Series> {
    let m = this.values.get(name);
    if (!m) this.values.set(name, (m = new Map()));
    return m;
  }

  private set(name: MetricName, labels: Labels, value: number): void {
    this.series(name).set(labelKey(labels), { labels, value });
  }

  private add(name: MetricName, labels: Labels, delta: number): void {
    this.set(name, labels, (this.value(name, labels) ?? 0) + delta);
  }
}
