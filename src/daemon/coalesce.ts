// Single-flight reconciles: triggers that arrive while a cycle runs collapse into one follow-up
// cycle, so there are never two at once and a burst of triggers costs one extra run at most.
export class Coalescer {
  private running: Promise<void> | undefined;
  private pending = false;
  private waiters: (() => void)[] = [];
  constructor(private readonly cycle: (reasons: string[]) => Promise<void>) {}
  private reasons: string[] = [];

  /** Resolves once a cycle that started after this call has finished. */
  request(reason: string): Promise<void> {
    this.reasons.push(reason);
    const done = new Promise<void>((r) => this.waiters.push(r));
    if (this.running) this.pending = true;
    else this.running = this.loop();
    return done;
  }

  get busy(): boolean { return this.running !== undefined; }

  /** Waits for the cycle in progress (and a pending follow-up) to end. */
  async idle(): Promise<void> { await this.running; }

  private async loop(): Promise<void> {
    do {
      this.pending = false;
      const reasons = this.reasons.splice(0);
      const waiters = this.waiters.splice(0);
      try { await this.cycle(reasons); } finally { for (const w of waiters) w(); }
    } while (this.pending);
    this.running = undefined;
  }
}
