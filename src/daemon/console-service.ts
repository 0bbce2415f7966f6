// The daemon's side of the console port (src/ports/console.ts): reads come from the last
// reconcile, the state store, backup storage and the audit log; acts go to the ad-hoc queue or
// the pauses in the state store, each audited with the token's name and the server's clock.
import type { Logger } from 'pino';
import { readEvidencePng } from '../adapters/console/evidence-png.js';
import { BackupStore } from '../adapters/storage/backup-store.js';
import { vmDir } from '../core/backup-layout.js';
import type { AuditLog } from '../adapters/store/audit-log.js';
import { clearPause, readPauses, setPause } from '../adapters/store/pauses.js';
import type { StateStore } from '../adapters/store/state-store.js';
import { readRunLog } from '../adapters/store/run-logs.js';
import type { RunRecord } from '../core/run-record.js';
import type { AuditEntry } from '../core/audit/entry.js';
import { ALERT_PERCENT, percentOf, SAMPLES_KEY, usageOf, validSamples } from '../core/console/api-storage.js';
import { activePause, checkReason, parseUntil } from '../core/pause/pause.js';
import type { FleetSummary, VmStatus } from '../core/status-model.js';
import type { AdhocRequest, ConsoleService, FleetView, HypervisorView, Principal, RevisionsView, StorageView, VmView } from '../ports/console.js';
import type { InForce } from './adhoc-run.js';
import type { AdhocQueue } from './adhoc-queue.js';
import { readDaemonState } from './daemon-state.js';

export interface LastReconcile { summary: FleetSummary; statuses: VmStatus[]; hosts?: Record<string, boolean>; /** settings.time_zone of the applied revision */ timeZone?: string }

export interface ConsoleServiceDeps {
  store: StateStore;
  /** Where run logs live (<state-dir>/logs). */
  stateDir: string;
  audit: AuditLog;
  queue: AdhocQueue;
  now: () => Date;
  scrub: (s: string) => string;
  log: Logger;
  last: () => LastReconcile | undefined;
  inForce: () => Promise<InForce | undefined>;
  /** An ad-hoc act refused by role (403), for the metrics (vmbackup_adhoc_actions_total result="refused"). */
  onEnd?: (kind: string, result: 'refused') => void;
  /** A pause or resume was recorded. */
  onPauseChange?: () => void;
}

const VM_RUNS = 50;
/** The VM page shows the log lines of its newest runs only. */
const VM_RUNS_WITH_LOG = 5;
const VM_LOG_LINES = 200;
const DEFAULT_RUNS = 200;

/** The pre-queue checks of an act against the applied policy and the VM's restore points (the queue's `check`). */
export async function checkAdhoc(req: AdhocRequest, f: InForce): Promise<{ status: 400 | 404 | 409; code: string; message: string } | undefined> {
  const vm = f.desired.vms.find((v) => v.name === req.vm)!;
  if (req.kind === 'restore') {
    const r = req.restore!;
    if (r.mode === 'new' && !r.name) return { status: 400, code: 'RESTORE_REFUSED', message: 'a restore as new needs a name for the new VM' };
    if (r.mode === 'new' && r.name === vm.name && (!r.hypervisor || r.hypervisor === vm.hypervisor)) return { status: 400, code: 'RESTORE_REFUSED', message: `a new VM cannot take the name ${vm.name} on its own host; use mode in-place` };
    if (r.mode === 'in-place' && r.name && r.name !== vm.name) return { status: 400, code: 'RESTORE_REFUSED', message: 'an in-place restore keeps the VM\'s name; use mode new for another name' };
    if (r.hypervisor && !f.desired.hypervisors.some((h) => h.name === r.hypervisor)) return { status: 400, code: 'RESTORE_REFUSED', message: `hypervisor ${r.hypervisor} is not in the applied policy` };
  }
  if (req.kind === 'prune' && req.backupId) return { status: 400, code: 'PRUNE_REFUSED', message: 'prune runs the VM\'s retention; it does not take a restore point' };
  if (req.backupId) {
    const list = await new BackupStore(f.desired.settings.storageRoot).list(vm.hypervisor, vm.name);
    if (!list.some((b) => b.id === req.backupId)) return { status: 404, code: 'BACKUP_NOT_FOUND', message: `${vm.name} has no restore point ${req.backupId}` };
  }
  return undefined;
}

export class DaemonConsoleService implements ConsoleService {
  constructor(private readonly d: ConsoleServiceDeps) {}

  private nowIso(): string { return this.d.now().toISOString(); }

  async revisions(): Promise<RevisionsView> {
    const st = readDaemonState(this.d.store);
    return {
      ...(st.lastAppliedRevision ? { lastAppliedRevision: st.lastAppliedRevision } : {}), ...(st.lastAttemptedRevision ? { lastAttemptedRevision: st.lastAttemptedRevision } : {}),
      lastAttemptErrors: st.lastAttemptErrors.map(this.d.scrub), ...(st.lastAttemptAt ? { lastAttemptAt: st.lastAttemptAt } : {}), ...(st.lastReconcileAt ? { lastReconcileAt: st.lastReconcileAt } : {}),
    };
  }

  async fleet(): Promise<FleetView> {
    const last = this.d.last();
    const pauses = await readPauses(this.d.store);
    const now = this.nowIso();
    const vms = (last?.statuses ?? []).map((status) => {
      const pause = activePause(pauses, status.vm, now);
      return { status, ...(pause ? { pause } : {}), ...(status.window ? { window: { open: status.window.open, text: status.window.text, ...(status.window.next_start ? { nextStart: status.window.next_start } : {}) } } : {}) };
    });
    return { ...(last ? { summary: last.summary } : {}), vms, revisions: await this.revisions() };
  }

  async vm(name: string): Promise<VmView | undefined> {
    const row = (await this.fleet()).vms.find((v) => v.status.vm === name);
    if (!row) return undefined;
    const runs = await Promise.all((await this.runs({ vm: name, limit: VM_RUNS })).map((r, i) => (i < VM_RUNS_WITH_LOG ? this.withLog(r, VM_LOG_LINES) : r)));
    const actions = this.d.queue.list().filter((a) => a.vm === name && (a.state === 'queued' || a.state === 'running'));
    return { ...row, runs, actions };
  }

  async runs(filter: { vm?: string; kind?: import('../core/run-record.js').RunKind; limit?: number }) {
    const all = await this.d.store.runs({ ...(filter.vm ? { vm: filter.vm } : {}), ...(filter.kind ? { kind: filter.kind } : {}) });
    return [...all].sort((a, b) => (a.started < b.started ? 1 : a.started > b.started ? -1 : 0)).slice(0, filter.limit ?? DEFAULT_RUNS);
  }

  async run(id: string) {
    const r = (await this.d.store.runs()).find((x) => x.id === id);
    return r && this.withLog(r);
  }

  /** The run with its stored log lines; a log file that is not a regular file is refused (logged), never read. */
  private async withLog(r: RunRecord, maxLines?: number): Promise<RunRecord & { log?: NonNullable<Awaited<ReturnType<typeof readRunLog>>> }> {
    try {
      const log = await readRunLog(this.d.stateDir, r.id, maxLines ? { maxLines } : {});
      return log?.length ? { ...r, log } : r;
    } catch (e) {
      this.d.log.warn({ runId: r.id, err: this.d.scrub((e as Error).message) }, 'run log not served');
      return r;
    }
  }

  async hypervisors(): Promise<HypervisorView[]> {
    const f = await this.d.inForce();
    const up = this.d.last()?.hosts ?? {};
    return (f?.desired.hypervisors ?? []).map((h) => ({ name: h.name, ...(h.name in up ? { reachable: up[h.name]! } : {}), vms: f!.desired.vms.filter((v) => v.hypervisor === h.name).map((v) => v.name), runsOn: h.runsOn }));
  }

  async storage(): Promise<StorageView> {
    const last = this.d.last();
    const use = usageOf(last?.statuses ?? []);
    const space = last?.summary.storage;
    const percent = percentOf(space?.used_bytes, space?.total_bytes);
    return {
      ...(space ? { used_bytes: space.used_bytes, total_bytes: space.total_bytes } : {}), ...(percent !== undefined ? { percent } : {}),
      alert_percent: ALERT_PERCENT, alert: percent !== undefined && percent >= ALERT_PERCENT,
      ...use, history: validSamples(this.d.store.data[SAMPLES_KEY]),
    };
  }

  async testRestoreScreenshot(vm: string): Promise<Buffer | undefined> {
    const f = await this.d.inForce();
    const v = f?.desired.vms.find((x) => x.name === vm);
    if (!f || !v) return undefined;
    // Only the last test-restore's evidence: when it has no screenshot, none is shown (no older one).
    const last = (await this.d.store.runs({ vm, kind: 'test-restore' })).sort((a, b) => (a.started < b.started ? 1 : a.started > b.started ? -1 : 0))[0];
    const path = last?.steps.find((s) => s.name === 'screenshot' && s.ok)?.detail;
    if (!path) return undefined;
    const r = await readEvidencePng(vmDir(f.desired.settings.storageRoot, v.hypervisor, vm), path);
    if ('refused' in r) { this.d.log.warn({ vm, why: this.d.scrub(r.refused) }, 'test-restore screenshot not served'); return undefined; }
    return r.png;
  }

  actions() { return this.d.queue.list(); }
  action(id: string) { return this.d.queue.get(id); }
  submit(req: AdhocRequest, by: Principal) { return this.d.queue.submit(req, by); }
  cancel(id: string, by: Principal) { return this.d.queue.cancel(id, by); }
  prunePreview(vm: string) { return this.d.queue.prunePreview(vm); }
  subscribe(l: Parameters<ConsoleService['subscribe']>[0]) { return this.d.queue.subscribe(l); }
  audit(since?: string): Promise<AuditEntry[]> { return this.d.audit.read(since ?? ''); }

  private async auditAct(p: Principal, act: 'pause' | 'resume', vm: string, result: AuditEntry['result'], detail: string): Promise<void> {
    const rev = readDaemonState(this.d.store).lastAppliedRevision;
    await this.d.audit.append({ at: this.nowIso(), by: `api:${p.name}`, role: p.role, act, vm, result, detail: this.d.scrub(detail).slice(0, 500), ...(rev ? { revision: rev } : {}) });
  }

  /** Refusals by role (403), recorded like every other refused act. */
  async forbidden(p: Principal, act: string, vm: string | undefined, need: string): Promise<void> {
    const rev = readDaemonState(this.d.store).lastAppliedRevision;
    const known = ['backup', 'verify', 'test-restore', 'prune', 'restore', 'cancel', 'pause', 'resume'];
    if (!known.includes(act)) return;
    if (['backup', 'verify', 'test-restore', 'prune', 'restore'].includes(act)) this.d.onEnd?.(act, 'refused');
    await this.d.audit.append({ at: this.nowIso(), by: `api:${p.name}`, role: p.role, act: act as AuditEntry['act'], ...(vm ? { vm } : {}), result: 'refused', detail: `API_FORBIDDEN: needs the ${need} role`, ...(rev ? { revision: rev } : {}) });
  }

  async pause(vm: string, until: string, reason: string, by: Principal) {
    const f = await this.d.inForce();
    if (!f?.desired.vms.some((v) => v.name === vm)) {
      await this.auditAct(by, 'pause', vm, 'refused', 'VM_NOT_FOUND');
      return { ok: false as const, status: 404 as const, code: 'VM_NOT_FOUND', message: `VM ${vm} is not in the applied policy` };
    }
    const now = this.nowIso();
    const u = parseUntil(until, now);
    if ('error' in u) { await this.auditAct(by, 'pause', vm, 'refused', `BAD_UNTIL: ${u.error}`); return { ok: false as const, status: 400 as const, code: 'BAD_UNTIL', message: u.error }; }
    const bad = checkReason(reason);
    if (bad) { await this.auditAct(by, 'pause', vm, 'refused', `BAD_REASON: ${bad}`); return { ok: false as const, status: 400 as const, code: 'BAD_REASON', message: bad }; }
    const pause = { vm, until: u.until, reason, by: `api:${by.name}`, at: now };
    await setPause(this.d.store, pause, now);
    await this.auditAct(by, 'pause', vm, 'ok', `until ${u.until}: ${reason}`);
    this.d.log.info({ vm, until: u.until, by: pause.by }, 'VM paused through the API');
    this.d.onPauseChange?.();
    return { ok: true as const, pause };
  }

  async resume(vm: string, by: Principal) {
    const f = await this.d.inForce();
    if (!f?.desired.vms.some((v) => v.name === vm)) {
      await this.auditAct(by, 'resume', vm, 'refused', 'VM_NOT_FOUND');
      return { ok: false as const, status: 404 as const, code: 'VM_NOT_FOUND', message: `VM ${vm} is not in the applied policy` };
    }
    const was = await clearPause(this.d.store, vm);
    const active = was && Date.parse(was.until) > this.d.now().getTime() ? was : undefined;
    await this.auditAct(by, 'resume', vm, 'ok', active ? `pause until ${active.until} ended` : 'no pause was in force');
    if (active) this.d.onPauseChange?.();
    return { ok: true as const, ...(active ? { was: active } : {}) };
  }
}
