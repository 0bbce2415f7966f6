// An in-memory ConsoleService for the web pages' tests: a small fleet (one VM with a hostile name
// and hostile texts), storage history, and actions that the test can move through their phases.
import type { AdhocRequest, ConsoleService, FleetView, Principal, ProgressEvent, QueuedAction, RunWithLog, StorageView, SubmitResult, VmView } from '../../src/ports/console.js';
import type { VmStatus } from '../../src/core/status-model.js';
import type { RunRecord } from '../../src/core/run-record.js';
import type { Pause } from '../../src/core/pause/pause.js';

export const HOSTILE = '<script>alert("x")</script>&"\'';
export const NOW = '2026-12-03T12:00:00Z';

const day = (n: number): string => new Date(Date.parse(NOW) - n * 86_400_000).toISOString().slice(0, 10);

export function vmStatus(vm: string, hypervisor: string, over: Partial<VmStatus> = {}): VmStatus {
  return {
    vm, hypervisor, policy: 'daily', observed: 'running',
    conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'backed up 2h ago', lastTransitionTime: NOW }],
    last_backup: { id: '20261203T100000Z', time: '2026-12-03T10:00:00Z', status: 'ok', size_bytes: 3 * 2 ** 30, duration_ms: 95_000, warnings: [] },
    restore_points: [
      { id: '20261203T100000Z', time: '2026-12-03T10:00:00Z', status: 'ok', verify: 'ok', kind: 'incremental', parent: '20261202T100000Z', size_bytes: 2 ** 28, keep_reason: ['keep_last 1', 'keep_daily 2026-12-03'] },
      { id: '20261202T100000Z', time: '2026-12-02T10:00:00Z', status: 'ok', verify: 'none', kind: 'full', size_bytes: 3 * 2 ** 30, keep_reason: ['keep_daily 2026-12-02'] },
    ],
    next_due: '2026-12-04T02:00:00Z',
    history: [...Array.from({ length: 28 }, (_, i) => ({ day: day(i + 2), outcome: 'ok' as const })), { day: day(1), outcome: 'warning' as const }, { day: day(0), outcome: 'ok' as const }],
    last_test_restore: { time: '2026-12-02T12:00:00Z', backup_id: '20261202T100000Z', result: 'ok', probe: 'login prompt on the serial console', screenshot: '/srv/backup/web1/20261202T100000Z/test-restore.png' },
    ...over,
  };
}

const run = (vm: string, over: Partial<RunWithLog> = {}): RunWithLog => ({
  id: `run-${vm}-1`, kind: 'backup', vm, hypervisor: 'hv1', backupId: '20261203T100000Z', started: '2026-12-03T10:00:00Z', finished: '2026-12-03T10:01:35Z', status: 'ok', warnings: [], pid: 1,
  steps: [{ name: 'lock', ok: true, ms: 12 }, { name: 'snapshot', ok: true, ms: 1800 }, { name: 'copy', ok: true, ms: 90_000, detail: 'vda: 3.0 GiB' }, { name: 'commit', ok: true, ms: 900 }],
  log: [
    { at: '2026-12-03T10:00:02Z', level: 'info', msg: 'step done', fields: { step: 'snapshot', ms: 1800 } },
    { at: '2026-12-03T10:01:32Z', level: 'warn', msg: 'guest agent did not answer; crash-consistent snapshot', fields: {} },
  ],
  ...over,
});

export class FakeConsole implements ConsoleService {
  statuses: VmStatus[] = [
    vmStatus('web1', 'hv1'),
    vmStatus('db1', 'hv1', { conditions: [{ type: 'Ready', status: 'False', reason: 'BackupFailed', message: 'copy failed: no space', lastTransitionTime: NOW }], history: [{ day: day(0), outcome: 'failed' }, { day: day(1), outcome: 'ok' }] }),
    vmStatus('mail1', 'hv2', { conditions: [{ type: 'Ready', status: 'False', reason: 'Overdue', message: 'last backup 3d ago', lastTransitionTime: NOW }], last_backup: { id: '20261130T020000Z', time: '2026-11-30T02:00:00Z', status: 'ok', warnings: [] }, next_due: '2026-12-01T02:00:00Z', history: [{ day: day(3), outcome: 'ok' }] }),
    vmStatus(HOSTILE, 'hv2', { policy: HOSTILE, conditions: [{ type: 'Ready', status: 'False', reason: HOSTILE, message: HOSTILE, lastTransitionTime: NOW }], restore_points: [{ id: 'p1', time: NOW, status: 'ok', verify: 'none', keep_reason: [HOSTILE] }] }),
  ];
  pauses: Record<string, Pause> = {};
  list: QueuedAction[] = [];
  submitted: { req: AdhocRequest; by: Principal }[] = [];
  listeners = new Set<(ev: ProgressEvent) => void>();
  private n = 0;

  async fleet(): Promise<FleetView> {
    return { vms: this.statuses.map((status) => ({ status, ...(this.pauses[status.vm] ? { pause: this.pauses[status.vm]! } : {}) })), revisions: { lastAppliedRevision: 'abcdef0123456789', lastAttemptErrors: [] },
      summary: { generated_at: NOW, last_attempt_errors: [], totals: { vms: 4, ready: 1, failed: 2, overdue: 1, unknown: 0, unprotected: 0, missing: 0 }, unprotected: [], missing: [], backups_last_7d: { ok: 10, failed: 1, size_bytes: 2 ** 33, duration_ms: 600_000 } } };
  }
  async vm(name: string): Promise<VmView | undefined> {
    const status = this.statuses.find((s) => s.vm === name);
    if (!status) return undefined;
    const p = this.pauses[name];
    return { status, ...(p ? { pause: p } : {}), runs: name === HOSTILE ? [run(name, { status: 'failed', error: HOSTILE, steps: [{ name: 'copy', ok: false, ms: 10, detail: HOSTILE }], log: [{ at: '2026-12-03T10:00:00Z', level: 'error', msg: HOSTILE, fields: { err: HOSTILE } }] })] : [run(name), run(name, { id: `run-${name}-0`, backupId: '20261202T100000Z', started: '2026-12-02T10:00:00Z', finished: '2026-12-02T10:02:10Z' })], actions: this.list.filter((a) => a.vm === name && (a.state === 'queued' || a.state === 'running')) };
  }
  async runs(): Promise<RunRecord[]> { return []; }
  async run(): Promise<RunRecord | undefined> { return undefined; }
  async hypervisors() { return [{ name: 'hv1', vms: ['web1', 'db1'] }, { name: 'hv2', vms: ['mail1'] }]; }
  async storage(): Promise<StorageView> {
    const history = Array.from({ length: 30 }, (_, i) => ({ day: day(29 - i), used_bytes: (400 + i * 12) * 2 ** 30, total_bytes: 1000 * 2 ** 30, by_hypervisor: {}, by_vm: {} }));
    return { used_bytes: 850 * 2 ** 30, total_bytes: 1000 * 2 ** 30, percent: 85, alert_percent: 80, alert: true, by_hypervisor: { hv1: 600 * 2 ** 30, hv2: 250 * 2 ** 30 }, by_vm: { web1: 300 * 2 ** 30, db1: 300 * 2 ** 30, mail1: 250 * 2 ** 30, [HOSTILE]: 2 ** 20 }, history };
  }
  async revisions() { return { lastAttemptErrors: [] }; }
  actions(): QueuedAction[] { return [...this.list].reverse(); }
  action(id: string): QueuedAction | undefined { return this.list.find((a) => a.id === id); }
  async submit(req: AdhocRequest, by: Principal): Promise<SubmitResult> {
    if (!this.statuses.some((s) => s.vm === req.vm)) return { ok: false, status: 404, code: 'VM_NOT_FOUND', message: `no VM ${req.vm}` };
    this.submitted.push({ req, by });
    const action: QueuedAction = { id: `a${++this.n}`, kind: req.kind, vm: req.vm, hypervisor: 'hv1', by: by.name, requestedAt: NOW, state: 'queued', phase: 'queued', revision: 'abcdef0', ...(req.backupId ? { backupId: req.backupId } : {}), ...(req.restore ? { restore: req.restore } : {}) };
    this.list.push(action);
    return { ok: true, action };
  }
  async cancel(id: string): Promise<SubmitResult> {
    const a = this.action(id);
    if (!a) return { ok: false, status: 404, code: 'ACTION_NOT_FOUND', message: id };
    this.update(a, { state: 'cancelled' });
    return { ok: true, action: a };
  }
  async pause(vm: string, until: string, reason: string, by: Principal) {
    if (!this.statuses.some((s) => s.vm === vm)) return { ok: false as const, status: 404 as const, code: 'VM_NOT_FOUND', message: vm };
    const p: Pause = { vm, until: until.includes('T') ? until : '2026-12-05T12:00:00Z', reason, by: by.name, at: NOW };
    this.pauses[vm] = p;
    return { ok: true as const, pause: p };
  }
  async resume(vm: string) { const was = this.pauses[vm]; delete this.pauses[vm]; return { ok: true as const, ...(was ? { was } : {}) }; }
  async audit() { return []; }
  subscribe(l: (ev: ProgressEvent) => void): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }
  /** Test-restore screenshots by VM (PNG bytes). */
  screenshots: Record<string, Buffer> = { web1: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9]) };
  async testRestoreScreenshot(vm: string): Promise<Buffer | undefined> { return this.screenshots[vm]; }
  async prunePreview(vm: string) { return { ok: true as const, preview: { vm, dry_run: true as const, points: 0, prune: [], detail: 'nothing to prune (0 restore points on storage)' } }; }
  /** Moves an action on and tells subscribers (as the daemon's queue does). */
  update(a: QueuedAction, patch: Partial<QueuedAction>): void {
    Object.assign(a, patch);
    for (const l of this.listeners) l({ action: { ...a } });
  }
}

export const TOKENS: Record<string, Principal> = { 'tok-viewer': { name: 'vera', role: 'viewer' }, 'tok-operator': { name: 'otto', role: 'operator' }, 'tok-admin': { name: 'ada', role: 'admin' } };
