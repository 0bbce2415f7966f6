// Talks to a running Bacula director through the real `bconsole`. bconsole exits 0 even for failed
// jobs and unknown commands, so results are read from its output (findings §3.4); it exits
// non-zero only when it never reached the director.
import { execa } from 'execa';

export class BconsoleError extends Error {
  constructor(message: string, readonly output: string) { super(message); this.name = 'BconsoleError'; }
}

export class Bconsole {
  constructor(readonly configFile: string, readonly timeoutMs = 60_000) {}

  /** Runs console commands (one per line) and returns the whole transcript. */
  async exec(commands: readonly string[]): Promise<string> {
    for (const c of commands) if (/[\n\r]/.test(c)) throw new Error('a bconsole command must be one line');
    const r = await execa('bconsole', ['-n', '-c', this.configFile, '-u', String(Math.ceil(this.timeoutMs / 1000))], { input: commands.join('\n') + '\nquit\n', timeout: this.timeoutMs, reject: false, encoding: 'utf8' });
    const out = String(r.stdout ?? '') + String(r.stderr ?? '');
    if (r.timedOut) throw new BconsoleError(`bconsole timed out after ${this.timeoutMs} ms`, out);
    // Unreachable director: bconsole prints only "Connecting to Director …", retries, exits 1.
    if (r.exitCode !== 0 || /Director authorization problem|Authorization failed|Connection refused|Failed to connect/i.test(out)) throw new BconsoleError(`bconsole could not talk to the director (exit ${String(r.exitCode)}): ${out.trim().split('\n').slice(-2).join(' | ')}`, out);
    return out;
  }

  /** `reload`: the director re-reads its config (run `bacula-dir -t` first: a broken file is silently ignored). */
  async reload(): Promise<void> {
    await this.exec(['reload']);
  }

  /** Starts a job and returns its JobId. */
  async run(job: string): Promise<number> {
    if (!/^[A-Za-z0-9_.:-]+$/.test(job)) throw new Error(`unsafe Bacula job name ${JSON.stringify(job)}`);
    const out = await this.exec([`run job=${job} yes`]);
    const m = /Job queued\. JobId=(\d+)/.exec(out);
    if (!m) throw new BconsoleError(`Bacula did not queue job ${job}: ${out.trim().split('\n').slice(-3).join(' | ')}`, out);
    return Number(m[1]);
  }

  /** Waits for a job to end and returns its JobStatus letter (T ok, E error, f fatal, A canceled…). */
  async wait(jobId: number, timeoutMs: number): Promise<{ status: string; text: string }> {
    const b = new Bconsole(this.configFile, timeoutMs);
    const out = await b.exec([`wait jobid=${jobId}`]);
    const m = /JobStatus=([^\n]*?)\s*\((\w)\)/.exec(out);
    if (!m) throw new BconsoleError(`no JobStatus for JobId ${jobId}`, out);
    return { status: m[2]!, text: m[1]!.trim() };
  }

  /** Job names the running director knows (`.jobs`). */
  async jobs(): Promise<string[]> {
    const out = await this.exec(['.jobs']);
    return out.split('\n').map((l) => l.trim()).filter((l) => /^[A-Za-z0-9_.:-]+$/.test(l) && l !== 'quit');
  }
}
