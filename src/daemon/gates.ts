// The daemon's concurrency limits, one object for the whole process: the reconcile plan and the
// console's ad-hoc queue take the same global and per-hypervisor slots, so an ad-hoc backup never
// runs beside more jobs than the policy allows (settings.bacula.max_concurrent_jobs, one per host).

/** A counting semaphore whose limit can change (a newly applied revision); waiters run in order. */
export class Gate {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private limit: number) {}
  setLimit(n: number): void {
    this.limit = Math.max(1, n);
    while (this.active < this.limit && this.waiters.length) { this.active++; this.waiters.shift()!(); }
  }
  async take(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.active <= this.limit ? this.waiters.shift() : undefined;
      if (next) next(); // the slot passes straight to the next waiter
      else this.active--;
    };
  }
  get busy(): number { return this.active; }
}

export class Gates {
  private readonly global: Gate;
  private readonly perHost = new Map<string, Gate>();
  constructor(private maxConcurrent = 1, private maxPerHost = 1) { this.global = new Gate(Math.max(1, maxConcurrent)); }
  /** The limits of the revision in force. */
  setLimits(maxConcurrent: number, maxPerHost: number): void {
    this.maxConcurrent = Math.max(1, maxConcurrent);
    this.maxPerHost = Math.max(1, maxPerHost);
    this.global.setLimit(this.maxConcurrent);
    for (const g of this.perHost.values()) g.setLimit(this.maxPerHost);
  }
  private host(hv: string): Gate {
    let g = this.perHost.get(hv);
    if (!g) { g = new Gate(this.maxPerHost); this.perHost.set(hv, g); }
    return g;
  }
  /** `hv`'s slot (and `target`'s, for a restore onto another host), then a global one (in that
   *  order: a job waiting for its busy host holds no global slot that a job for another host could
   *  use; hosts in name order, so two crossing restores never deadlock); the returned function gives all back. */
  async take(hv: string | undefined, target?: string): Promise<() => void> {
    const hosts = [...new Set([hv, target].filter((h): h is string => !!h))].sort();
    const releases: (() => void)[] = [];
    for (const h of hosts) releases.push(await this.host(h).take());
    releases.push(await this.global.take());
    return () => { for (const r of [...releases].reverse()) r(); };
  }
}
