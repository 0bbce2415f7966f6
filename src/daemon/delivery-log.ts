// Webhook delivery ids seen lately, to refuse a replayed delivery: bounded in time (a window) and
// in memory (the newest ids only). In memory: a restart forgets them (the hook only triggers a
// fetch of the branch, so a replay after a restart costs one reconcile, nothing more).

export const DELIVERY_WINDOW_MS = 24 * 3600 * 1000;
export const DELIVERY_MAX_IDS = 10_000;

export interface DeliveryLogOptions { windowMs?: number; maxIds?: number; now?: () => number }

export class DeliveryLog {
  /** id -> when it was recorded; Map keeps insertion order, so the oldest come first. */
  private readonly ids = new Map<string, number>();
  private readonly windowMs: number;
  private readonly maxIds: number;
  private readonly now: () => number;

  constructor(o: DeliveryLogOptions = {}) {
    this.windowMs = o.windowMs ?? DELIVERY_WINDOW_MS;
    this.maxIds = o.maxIds ?? DELIVERY_MAX_IDS;
    this.now = o.now ?? Date.now;
  }

  get size(): number { return this.ids.size; }

  /** True when one of `ids` was recorded within the window. */
  seen(ids: readonly string[]): boolean {
    this.expire();
    return ids.some((id) => this.ids.has(id));
  }

  record(ids: readonly string[]): void {
    const t = this.now();
    for (const id of ids) { this.ids.delete(id); this.ids.set(id, t); }
    while (this.ids.size > this.maxIds) this.ids.delete(this.ids.keys().next().value as string);
  }

  private expire(): void {
    const cutoff = this.now() - this.windowMs;
    for (const [id, t] of this.ids) {
      if (t > cutoff) break;
      this.ids.delete(id);
    }
  }
}
