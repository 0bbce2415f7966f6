// The operations console's port: what the API routes and the web pages read and ask for. The
// daemon implements it (src/daemon/console-service.ts) over its state store, last reconcile,
// backup storage and ad-hoc queue; route and page tests use an in-memory fake.
import type { AuditEntry } from '../core/audit/entry.js';
import type { Pause } from '../core/pause/pause.js';
import type { RunRecord } from '../core/run-record.js';
import type { RunLogLine } from '../core/run-log.js';

/** A run with the log lines its process kept (<state-dir>/logs/<run>.jsonl), when it has any. */
export type RunWithLog = RunRecord & { log?: RunLogLine[] };
import type { FleetSummary, VmStatus } from '../core/status-model.js';

export type Role = 'viewer' | 'operator' | 'admin';
/** Who is asking: the token's name and role (never the token). */
export interface Principal { name: string; role: Role }

export type AdhocKind = 'backup' | 'verify' | 'test-restore' | 'prune' | 'restore';
/** The least role each act needs. */
export const ROLE_FOR: Record<AdhocKind | 'pause' | 'resume' | 'cancel', Role> = {
  backup: 'operator', verify: 'operator', 'test-restore': 'operator', pause: 'operator', resume: 'operator', cancel: 'operator',
  restore: 'admin', prune: 'admin',
};
export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const allows = (have: Role, need: Role): boolean => ROLE_RANK[have] >= ROLE_RANK[need];

export interface RestoreRequest {
  /** `new`: define a new VM (name required); `in-place`: replace the VM's disks with the CLI's safety (stop, keep, roll back). */
  mode: 'new' | 'in-place';
  /** The new VM's name (mode new). */
  name?: string;
  /** Target hypervisor; default: the VM's own. */
  hypervisor?: string;
  /** none: no NIC; isolated: NICs on an isolated network; keep: as backed up (mode new only with keep needs admin's explicit choice). */
  network: 'none' | 'isolated' | 'keep';
  /** Start the restored VM. Default false. */
  start?: boolean;
}

export interface AdhocRequest {
  kind: AdhocKind;
  vm: string;
  /** verify / test-restore / restore: which point; verify/test-restore default to the newest good one. Prune takes none: it runs the VM's retention. */
  backupId?: string;
  restore?: RestoreRequest;
}

export type ActionState = 'queued' | 'running' | 'ok' | 'failed' | 'cancelled';

/** Phase labels of a running action, in order (copying carries a percentage). */
export type Phase = 'queued' | 'lock' | 'pre-checks' | 'snapshot' | 'copying' | 'commit' | 'verify' | 'publish' | 'done';

export interface QueuedAction {
  id: string;
  kind: AdhocKind;
  vm: string;
  hypervisor: string;
  backupId?: string;
  restore?: RestoreRequest;
  by: string;
  requestedAt: string;
  state: ActionState;
  phase: Phase;
  /** Copying: 0–100. */
  percent?: number;
  startedAt?: string;
  finishedAt?: string;
  /** The engine run it became (GET /api/v1/runs/:id). */
  runId?: string;
  /** One line: the result (backup id, error) — redacted. */
  detail?: string;
  /** The applied revision whose policy it runs under. */
  revision: string;
}

/** What SSE subscribers receive: the action as it is now, at every phase or percent change. */
export interface ProgressEvent { action: QueuedAction }

export interface RevisionsView {
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  lastAttemptErrors: string[];
  lastAttemptAt?: string;
  lastReconcileAt?: string;
}

export interface VmView {
  status: VmStatus;
  pause?: Pause;
  /** Window: whether a scheduled/catch-up backup may start now, and the next start inside the window. */
  window?: { open: boolean; nextStart?: string; text: string };
  /** Newest first; the newest few carry their log lines. */
  runs: RunWithLog[];
  /** Queued or running ad-hoc actions for this VM. */
  actions: QueuedAction[];
}

export interface FleetView {
  summary?: FleetSummary;
  vms: { status: VmStatus; pause?: Pause; window?: VmView['window'] }[];
  revisions: RevisionsView;
}

export interface HypervisorView { name: string; reachable?: boolean; vms: string[]; runsOn?: 'control' | 'hypervisor' }

export interface StorageSample { day: string; used_bytes: number; total_bytes?: number; by_hypervisor: Record<string, number>; by_vm: Record<string, number> }
export interface StorageView {
  used_bytes?: number;
  total_bytes?: number;
  percent?: number;
  /** The alert threshold (80%). */
  alert_percent: number;
  alert: boolean;
  by_hypervisor: Record<string, number>;
  by_vm: Record<string, number>;
  /** One sample per day, oldest first (growth chart). */
  history: StorageSample[];
}

export type SubmitResult = { ok: true; action: QueuedAction } | { ok: false; status: 400 | 404 | 409 | 503; code: string; message: string };

/** A prune dry run: what the VM's retention would delete now, and why (nothing is queued or deleted). */
export interface PrunePreview {
  vm: string;
  dry_run: true;
  points: number;
  prune: { id: string; reasons: string[] }[];
  /** The mass-prune guard would refuse: nothing would be deleted. */
  refused?: string;
  /** Kept whole (a VM that left the repo, within its grace period). */
  held?: string;
  /** The line the action's detail would say. */
  detail: string;
}

export interface ConsoleService {
  fleet(): Promise<FleetView>;
  vm(name: string): Promise<VmView | undefined>;
  runs(filter: { vm?: string; kind?: RunRecord['kind']; limit?: number }): Promise<RunRecord[]>;
  run(id: string): Promise<RunWithLog | undefined>;
  hypervisors(): Promise<HypervisorView[]>;
  storage(): Promise<StorageView>;
  revisions(): Promise<RevisionsView>;
  /** Queued, running, and the last finished ad-hoc actions (newest first). */
  actions(): QueuedAction[];
  action(id: string): QueuedAction | undefined;
  /** Queues an ad-hoc act under the applied revision's policy; the caller has checked the role. Audited. */
  submit(req: AdhocRequest, by: Principal): Promise<SubmitResult>;
  /** A prune dry run under the applied revision's policy (the caller has checked the admin role). */
  prunePreview(vm: string): Promise<{ ok: true; preview: PrunePreview } | { ok: false; status: 404 | 503; code: string; message: string }>;
  /** Cancels a queued (not yet running) action, or one waiting for a busy VM's lock. Audited. */
  cancel(id: string, by: Principal): Promise<SubmitResult>;
  /** `until`: an ISO time or a duration (core/pause parseUntil). Audited. */
  pause(vm: string, until: string, reason: string, by: Principal): Promise<{ ok: true; pause: Pause } | { ok: false; status: 400 | 404; code: string; message: string }>;
  resume(vm: string, by: Principal): Promise<{ ok: true; was?: Pause } | { ok: false; status: 404; code: string; message: string }>;
  audit(since?: string): Promise<AuditEntry[]>;
  /** The console screenshot recorded by the VM's last test-restore (PNG bytes), read only from under
   *  the VM's directory on backup storage, never through a symlink; undefined when there is none or it is refused. */
  testRestoreScreenshot(vm: string): Promise<Buffer | undefined>;
  /** Live progress; returns the unsubscribe function. */
  subscribe(listener: (ev: ProgressEvent) => void): () => void;
}
