// The console's ad-hoc actions: queued in order, each run when the daemon's shared concurrency
// slots allow (gates.ts), always under the policy of the applied revision at the time it starts.
// Every step is audited (accepted/refused, then ok/failed/cancelled with the same action id); the
// last 100 finished actions stay in memory. An action whose VM is locked by another job waits (phase
// `lock`, its slots given back). On SIGTERM queued and waiting actions are cancelled; running ones finish.
import { randomUUID } from 'node:crypto';
import { LockedError } from '../adapters/lock.js';
import type { AuditLog } from '../adapters/store/audit-log.js';
import type { AuditEntry } from '../core/audit/entry.js';
import type { AdhocRequest, ConsoleService, Principal, ProgressEvent, QueuedAction, SubmitResult } from '../ports/console.js';
import { holderText, previewPrune, VmBusyError } from './adhoc-prune.js';
import { adhocContext, runAdhoc, type InForce, type RunDeps } from './adhoc-run.js';
import type { Gates } from './gates.js';

export const KEEP_FINISHED = 100;
export const MAX_QUEUED = 200;

export interface QueueDeps extends RunDeps {
  gates: Gates;
  audit: AuditLog;
  scrub: (s: string) => string;
  /** The applied revision's policy and hosts, now (undefined before the first applied revision). */
  inForce: () => Promise<InForce | undefined>;
  /** Checks a request against the applied policy before it is queued (VM known, point exists, restore options sane). */
  check?: (req: AdhocRequest, f: InForce) => Promise<{ status: 400 | 404 | 409; code: string; message: string } | undefined>;
  /** Once per action when it ends (ok, failed, cancelled) or is refused; never for accepted (the metrics). */
  onEnd?: (kind: string, result: 'ok' | 'failed' | 'cancelled' | 'refused') => void;
  /** How long a busy VM's action waits before it tries the lock again (default 3 s). */
  lockRetryMs?: number;
}

type Refusal = Extract<SubmitResult, { ok: false }>;

export class AdhocQueue {
  private readonly queued: QueuedAction[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private readonly finished: QueuedAction[] = [];
  private readonly listeners = new Set<(ev: ProgressEvent) => void>();
  /** Actions waiting for a busy VM's lock: the function wakes (and ends) the wait. */
  private readonly waiting = new Map<string, () => void>();
  private stopped = false;
  constructor(private readonly d: QueueDeps) {}

  list(): QueuedAction[] {
    const live = [...this.queued, ...[...this.runningActions()]].sort((a, b) => (a.requestedAt < b.requestedAt ? 1 : -1));
    return [...live, ...this.finished].map((a) => ({ ...a }));
  }
  get(id: string): QueuedAction | undefined { const a = this.find(id); return a && { ...a }; }
  subscribe(l: (ev: ProgressEvent) => void): () => void { this.listeners.add(l); return () => { this.listeners.delete(l); }; }

  private readonly live = new Map<string, QueuedAction>();
  private runningActions(): Iterable<QueuedAction> { return [...this.live.values()].filter((a) => a.state === 'running'); }
  private find(id: string): QueuedAction | undefined { return this.live.get(id) ?? this.finished.find((a) => a.id === id); }

  private emit(a: QueuedAction): void {
    const ev = { action: { ...a } };
    for (const l of this.listeners) { try { l(ev); } catch { /* a slow or broken subscriber never stops the queue */ } }
  }

  private async audit(a: Pick<QueuedAction, 'kind' | 'vm' | 'id' | 'backupId' | 'revision'>, p: { by: string; role: AuditEntry['role'] }, result: AuditEntry['result'], detail?: string): Promise<void> {
    await this.d.audit.append({
      at: this.d.now().toISOString(), by: p.by, role: p.role, act: a.kind, vm: a.vm, action_id: a.id, result,
      ...(a.backupId ? { backup_id: a.backupId } : {}), ...(detail ? { detail: this.d.scrub(detail).slice(0, 500) } : {}), ...(a.revision ? { revision: a.revision } : {}),
    });
  }

  async submit(req: AdhocRequest, p: Principal): Promise<SubmitResult> {
    const who = { by: `api:${p.name}`, role: p.role };
    const id = `${req.kind}-${randomUUID()}`;
    const base = { kind: req.kind, vm: req.vm, id, ...(req.backupId ? { backupId: req.backupId } : {}) };
    const refuse = async (r: Omit<Refusal, 'ok'>, revision = ''): Promise<Refusal> => {
      await this.audit({ ...base, revision }, who, 'refused', `${r.code}: ${r.message}`);
      this.ended(req.kind, 'refused');
      return { ok: false, ...r };
    };
    if (this.stopped) return refuse({ status: 503, code: 'QUEUE_STOPPING', message: 'the daemon is stopping; nothing new is queued' });
    if (this.queued.length >= MAX_QUEUED) return refuse({ status: 503, code: 'QUEUE_FULL', message: `${MAX_QUEUED} actions are already queued` });
    const f = await this.d.inForce();
    if (!f) return refuse({ status: 503, code: 'NO_APPLIED_REVISION', message: 'no policy revision is applied yet' });
    const vm = f.desired.vms.find((v) => v.name === req.vm);
    if (!vm) return refuse({ status: 404, code: 'VM_NOT_FOUND', message: `VM ${req.vm} is not in the applied policy (${f.revision.slice(0, 12)})` }, f.revision);
    const bad = await this.d.check?.(req, f);
    if (bad) return refuse(bad, f.revision);
    const a: QueuedAction = { ...base, hypervisor: vm.hypervisor, ...(req.restore ? { restore: { ...req.restore } } : {}), by: who.by, requestedAt: this.d.now().toISOString(), state: 'queued', phase: 'queued', revision: f.revision };
    this.queued.push(a);
    this.live.set(a.id, a);
    await this.audit(a, who, 'accepted');
    this.d.log.info({ action: a.id, kind: a.kind, vm: a.vm, by: a.by }, 'ad-hoc action queued');
    this.emit(a);
    this.running.set(a.id, this.work(a, who));
    return { ok: true, action: { ...a } };
  }

  /** A prune dry run: the VM's retention planned now under the applied policy; nothing is queued. */
  async prunePreview(vm: string): Promise<Awaited<ReturnType<ConsoleService['prunePreview']>>> {
    const f = await this.d.inForce();
    if (!f) return { ok: false, status: 503, code: 'NO_APPLIED_REVISION', message: 'no policy revision is applied yet' };
    const v = f.desired.vms.find((x) => x.name === vm);
    if (!v) return { ok: false, status: 404, code: 'VM_NOT_FOUND', message: `VM ${vm} is not in the applied policy (${f.revision.slice(0, 12)})` };
    return { ok: true, preview: await previewPrune(adhocContext(this.d, f, { id: 'prune-dry-run', vm, kind: 'prune' }, () => undefined), v) };
  }

  async cancel(id: string, p: Principal): Promise<SubmitResult> {
    const who = { by: `api:${p.name}`, role: p.role };
    const a = this.find(id);
    if (!a) return { ok: false, status: 404, code: 'ACTION_NOT_FOUND', message: `no action ${id}` };
    const waiting = this.waiting.get(a.id);
    if (a.state === 'running' && waiting) { // waiting for a busy VM's lock: nothing has started
      await this.finishCancelled(a, who, `cancelled by ${who.by} while waiting for the VM's lock`);
      waiting();
      return { ok: true, action: { ...a } };
    }
    if (a.state !== 'queued') {
      await this.d.audit.append({ at: this.d.now().toISOString(), by: who.by, role: who.role, act: 'cancel', vm: a.vm, action_id: a.id, result: 'refused', detail: `the action is ${a.state}`, revision: a.revision });
      return { ok: false, status: 409, code: 'ACTION_NOT_QUEUED', message: `action ${id} is ${a.state}; only a queued action can be cancelled` };
    }
    await this.finishCancelled(a, who, `cancelled by ${who.by}`);
    return { ok: true, action: { ...a } };
  }

  private async finishCancelled(a: QueuedAction, who: { by: string; role: AuditEntry['role'] }, why: string): Promise<void> {
    const i = this.queued.indexOf(a);
    if (i >= 0) this.queued.splice(i, 1);
    Object.assign(a, { state: 'cancelled', finishedAt: this.d.now().toISOString(), detail: why });
    await this.d.audit.append({ at: a.finishedAt!, by: who.by, role: who.role, act: 'cancel', vm: a.vm, action_id: a.id, result: 'ok', detail: why, revision: a.revision });
    await this.audit(a, who, 'cancelled', why);
    this.ended(a.kind, 'cancelled');
    this.retire(a);
  }

  private ended(kind: string, result: 'ok' | 'failed' | 'cancelled' | 'refused'): void {
    try { this.d.onEnd?.(kind, result); } catch { /* metrics never stop the queue */ }
  }

  /** Waits `lockRetryMs`, or less when woken (cancel, stop). The action stays in `waiting` (cancellable)
   *  until its next try has its slots again (attempt). */
  private pause(a: QueuedAction): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => resolve(), this.d.lockRetryMs ?? 3_000);
      this.waiting.set(a.id, () => { clearTimeout(t); resolve(); });
    });
  }

  private retire(a: QueuedAction): void {
    this.live.delete(a.id);
    this.finished.unshift(a);
    this.finished.splice(KEEP_FINISHED);
    this.emit(a);
  }

  /** Runs `a` when the slots allow; while its VM is locked by another job it waits in phase `lock`
   *  ("waiting for …") with its slots given back, and tries again every few seconds until it gets
   *  the lock, is cancelled, or the daemon stops. */
  private async work(a: QueuedAction, who: { by: string; role: AuditEntry['role'] }): Promise<void> {
    try {
      for (;;) {
        const busy = await this.attempt(a, who);
        if (busy === undefined) return;
        if (a.state !== 'running') return; // cancelled meanwhile
        Object.assign(a, { phase: 'lock', detail: this.d.scrub(`waiting for ${busy}`) });
        delete a.percent;
        this.emit(a);
        this.d.log.info({ action: a.id, kind: a.kind, vm: a.vm, holder: busy }, 'ad-hoc action waits for the VM\'s lock');
        await this.pause(a);
        if (a.state !== 'running') return; // cancelled while it waited
        if (this.stopped) { await this.finishCancelled(a, { by: 'daemon', role: 'cli' }, 'cancelled: the daemon is stopping (it was waiting for the VM\'s lock)'); return; }
      }
    } finally { this.running.delete(a.id); }
  }

  /** One try under the concurrency slots: undefined when the action ended, else who holds the VM's lock. */
  private async attempt(a: QueuedAction, who: { by: string; role: AuditEntry['role'] }): Promise<string | undefined> {
    const release = await this.d.gates.take(a.hypervisor, a.restore?.hypervisor); // a restore onto another host takes its slot too
    this.waiting.delete(a.id);
    try {
      if (a.state === 'cancelled') return undefined; // cancelled while it waited for a slot
      if (a.state === 'queued') {
        const i = this.queued.indexOf(a);
        if (i >= 0) this.queued.splice(i, 1);
        Object.assign(a, { state: 'running', phase: 'lock', startedAt: this.d.now().toISOString() });
        this.emit(a);
      }
      let out;
      try {
        // The policy of the revision applied now (it may have moved on since the request).
        const f = await this.d.inForce();
        if (!f) throw new Error('no policy revision is applied');
        a.revision = f.revision;
        out = await runAdhoc(this.d, f, a, (phase, percent) => {
          if (a.phase === phase && a.percent === percent) return;
          a.phase = phase;
          if (percent === undefined) delete a.percent; else a.percent = percent;
          this.emit(a);
        });
      } catch (e) {
        if (e instanceof LockedError && !this.stopped) return holderText(e);
        if (e instanceof VmBusyError && !this.stopped) return e.holder;
        out = { ok: false, detail: e instanceof LockedError ? `busy: ${e.message}` : (e as Error).message };
      }
      Object.assign(a, { state: out.ok ? 'ok' : 'failed', phase: out.ok ? 'done' : a.phase, finishedAt: this.d.now().toISOString(), detail: this.d.scrub(out.detail) });
      if (out.ok) delete a.percent;
      if ('runId' in out && out.runId) a.runId = out.runId;
      if ('backupId' in out && out.backupId) a.backupId = out.backupId;
      await this.audit(a, who, out.ok ? 'ok' : 'failed', out.detail).catch((e: unknown) => this.d.log.error({ err: (e as Error).message, action: a.id }, 'audit append failed'));
      this.ended(a.kind, out.ok ? 'ok' : 'failed');
      this.d.log[out.ok ? 'info' : 'error']({ action: a.id, kind: a.kind, vm: a.vm, state: a.state, detail: a.detail }, 'ad-hoc action finished');
      this.retire(a);
      return undefined;
    } finally {
      release();
    }
  }

  /** SIGTERM: nothing new is taken; queued actions are cancelled (audited). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const a of [...this.queued]) await this.finishCancelled(a, { by: 'daemon', role: 'cli' }, 'cancelled: the daemon is stopping');
    for (const [id, wake] of [...this.waiting]) {
      const a = this.live.get(id);
      if (a?.state === 'running') await this.finishCancelled(a, { by: 'daemon', role: 'cli' }, 'cancelled: the daemon is stopping (it was waiting for the VM\'s lock)');
      wake();
    }
  }

  /** Whether an action is running now. */
  busy(): boolean { return [...this.runningActions()].length > 0; }

  /** Resolves when no action runs. */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [...this.runningActions()].map((a) => this.running.get(a.id)).filter((p): p is Promise<void> => p !== undefined);
      if (!busy.length) return;
      await Promise.all(busy);
    }
  }
}
