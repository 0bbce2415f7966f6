// Runs commands on this machine: for vmbackup installed on the hypervisor itself, and for tests.
import { execa } from 'execa';
import { CommandError, DEFAULT_TIMEOUT_MS, type RunOptions, type RunResult, type Transport } from './transport.js';
import { quote } from 'shell-quote';

export class LocalTransport implements Transport {
  readonly kind = 'local' as const;
  constructor(readonly host: string) {}

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    const t0 = performance.now();
    const r = await execa(file, args, { reject: false, timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, input: opts.input, stripFinalNewline: false, encoding: 'utf8' });
    const result: RunResult = { exitCode: r.exitCode ?? (r.timedOut ? 124 : 1), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? (r.failed && r.exitCode === undefined ? r.message : '')), command: quote([...argv]), durationMs: performance.now() - t0 };
    if ((result.exitCode !== 0 || r.timedOut) && !opts.allowFailure) throw new CommandError(this.host, result, Boolean(r.timedOut));
    return result;
  }

  async close(): Promise<void> {}
}
