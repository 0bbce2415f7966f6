// The async outbox: enqueue() returns at once so notifying never blocks reconciling; one lane per
// channel delivers in order, retrying 429/5xx/network errors with exponential backoff (honouring
// Retry-After) within bounded attempts and total time, then logs and drops the message.
import type { Logger } from 'pino';
import { DeliveryError } from './http.js';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up when the next wait would end later than this after the first attempt. */
  maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 60_000, maxTotalMs: 10 * 60_000 };

export interface QueuedMessage {
  /** Lane and log label: `slack-failure`, `slack-digest`, `email`, `webhook`. */
  channel: string;
  kind: string;
  /** VM or revision the message is about, for logs. */
  subject?: string;
  /** Sends once; throws DeliveryError (retryable or not) on failure. */
  deliver(): Promise<void>;
}

export interface QueueStats { delivered: number; failed: number; dropped: number; retries: number }

/** Wait before retry `attempt + 1`: base·2^(attempt-1) capped, with jitter in [½, 1], never less than Retry-After. */
export function backoffDelay(attempt: number, p: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  const exp = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(exp * (0.5 + random() / 2));
  return Math.max(jittered, retryAfterMs ?? 0);
}

interface Lane { items: QueuedMessage[]; running: boolean }

export class NotificationQueue {
  readonly stats: QueueStats = { delivered: 0, failed: 0, dropped: 0, retries: 0 };
  private readonly lanes = new Map<string, Lane>();
  private readonly idleWaiters = new Set<() => void>();
  private readonly sleepers = new Set<() => void>();
  private readonly retry: RetryPolicy;
  private closed = false;

  constructor(private readonly o: { log: Logger; retry?: Partial<RetryPolicy>; maxQueued?: number; now?: () => number; random?: () => number }) {
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
  }

  /** Messages waiting or in flight. */
  get size(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.items.length + (l.running ? 1 : 0);
    return n;
  }

  enqueue(m: QueuedMessage): void {
    if (this.closed) { this.stats.dropped++; this.o.log.warn({ channel: m.channel, kind: m.kind, subject: m.subject }, 'notification queue closed; message dropped'); return; }
    let lane = this.lanes.get(m.channel);
    if (!lane) { lane = { items: [], running: false }; this.lanes.set(m.channel, lane); }
    lane.items.push(m);
    if (this.size > (this.o.maxQueued ?? 500)) {
      const old = lane.items.shift();
      this.stats.dropped++;
      this.o.log.warn({ channel: m.channel, kind: old?.kind, subject: old?.subject }, 'notification queue full; oldest message dropped');
    }
    if (!lane.running) void this.runLane(lane);
  }

  /** Resolves true once everything queued was delivered or given up, false if `timeoutMs` passed first. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => { clearTimeout(timer); this.idleWaiters.delete(done); resolve(true); };
      const timer = setTimeout(() => { this.idleWaiters.delete(done); resolve(false); }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  /** For shutdown after drain(): pending retries give up at once, queued and new messages are dropped (logged). */
  close(): void {
    this.closed = true;
    for (const wake of [...this.sleepers]) wake();
  }

  private async runLane(lane: Lane): Promise<void> {
    lane.running = true;
    for (let m = lane.items.shift(); m; m = lane.items.shift()) {
      if (this.closed) {
        this.stats.dropped++;
        this.o.log.warn({ channel: m.channel, kind: m.kind, subject: m.subject }, 'notification queue closed; message dropped');
      } else await this.deliver(m);
    }
    lane.running = false;
    if (this.size === 0) for (const w of [...this.idleWaiters]) w();
  }

  private async deliver(m: QueuedMessage): Promise<void> {
    const now = this.o.now ?? Date.now;
    const start = now();
    const tag = { channel: m.channel, kind: m.kind, ...(m.subject ? { subject: m.subject } : {}) };
    for (let attempt = 1; ; attempt++) {
      try {
        await m.deliver();
        this.stats.delivered++;
        this.o.log.debug({ ...tag, attempt }, 'notification delivered');
        return;
      } catch (e) {
        const err = e instanceof DeliveryError ? e : new DeliveryError((e as Error).message ?? String(e), false);
        const delay = backoffDelay(attempt, this.retry, err.retryAfterMs, this.o.random);
        const outOfTime = now() - start + delay > this.retry.maxTotalMs;
        if (!err.retryable || attempt >= this.retry.maxAttempts || outOfTime || this.closed) {
          this.stats.failed++;
          this.o.log.error({ ...tag, attempts: attempt, status: err.status, err: err.message, retryable: err.retryable }, 'notification not delivered; giving up');
          return;
        }
        this.stats.retries++;
        this.o.log.warn({ ...tag, attempt, status: err.status, err: err.message, retryInMs: delay }, 'notification delivery failed; will retry');
        await this.sleep(delay);
        if (this.closed) {
          this.stats.failed++;
          this.o.log.error({ ...tag, attempts: attempt, err: err.message }, 'notification not delivered; queue closed during retry');
          return;
        }
      }
    }
  }

  /** An unref'd timer (a pending retry never keeps the process alive), cut short by close(). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => { clearTimeout(t); this.sleepers.delete(wake); resolve(); };
      const t = setTimeout(wake, ms);
      t.unref();
      this.sleepers.add(wake);
    });
  }
}
