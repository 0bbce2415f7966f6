// The fleet benchmark's transport: the real LocalTransport (execa, timeouts, CommandError), with
// every command counted per host and its program looked up in that host's fake directory, the way
// ssh runs it on the host it is connected to. Nothing else differs from a daemon's reconcile.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocalTransport } from '../src/adapters/transport/local.js';
import type { RunOptions, RunResult, Transport } from '../src/adapters/transport/transport.js';

export interface CommandRecord { host: string; what: string; startMs: number; endMs: number; stdoutBytes: number; ok: boolean; error?: string }

/** Every remote command of a run, in order of completion. */
export class CommandLog {
  readonly records: CommandRecord[] = [];
  private readonly t0 = performance.now();
  now(): number { return performance.now() - this.t0; }
  reset(): void { this.records.length = 0; }

  perHost(): Map<string, number> {
    const m = new Map<string, number>();
    for (const r of this.records) m.set(r.host, (m.get(r.host) ?? 0) + 1);
    return m;
  }

  byWhat(): Record<string, number> {
    const o: Record<string, number> = {};
    for (const r of this.records) o[r.what] = (o[r.what] ?? 0) + 1;
    return o;
  }
}

/** `virsh -q -c URI list --all` → "virsh list"; the batched dumpxml script → "virsh dumpxml×N". */
function describe(argv: readonly string[]): string {
  const rest = argv.slice(1).filter((a, i, xs) => !a.startsWith('-') && xs[i - 1] !== '-c');
  const sub = rest[0] ?? '';
  if (sub.startsWith('dumpxml')) return `${argv[0]} dumpxml (batched)`;
  return `${argv[0]} ${sub.split(' ')[0]}`.trim();
}

export class CountingTransport implements Transport {
  readonly kind = 'ssh' as const;
  private readonly inner: LocalTransport;
  constructor(readonly host: string, private readonly hostDir: string, private readonly log: CommandLog) {
    this.inner = new LocalTransport(host);
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const [prog, ...args] = argv;
    if (!prog) throw new Error('empty argv');
    const local = join(this.hostDir, prog);
    // A program the fake host does not have fails like a missing binary would, and is counted.
    const mapped = existsSync(local) ? [local, ...args] : [join(this.hostDir, `missing-${prog}`), ...args];
    const startMs = this.log.now();
    try {
      const r = await this.inner.run(mapped, opts);
      this.log.records.push({ host: this.host, what: describe(argv), startMs, endMs: this.log.now(), stdoutBytes: r.stdout.length, ok: true });
      return { ...r, command: r.command.replace(this.hostDir + '/', '') };
    } catch (e) {
      this.log.records.push({ host: this.host, what: describe(argv), startMs, endMs: this.log.now(), stdoutBytes: 0, ok: false, error: (e as Error).message.slice(0, 300) });
      throw e;
    }
  }

  async close(): Promise<void> { await this.inner.close(); }
}
