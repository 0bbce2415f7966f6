// Runs commands on a hypervisor over OpenSSH: one multiplexed connection per host
// (ControlMaster), strict host-key checking against a known_hosts file from settings, a timeout
// on every command, and every argument quoted: the remote shell sees exactly the argv we pass.
// The ControlPath directory is checked (ours, 0700, not a symlink) before every ssh start.
import { execa } from 'execa';
import { quote } from 'shell-quote';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { controlDirProblem, ensureControlDir } from './control-dir.js';
import { CommandError, DEFAULT_TIMEOUT_MS, UnreachableError, type RunOptions, type RunResult, type Transport } from './transport.js';

export interface SshTarget {
  host: string;
  address: string;
  user: string;
  port: number;
  identity?: string;
}

export interface SshOptions {
  knownHosts?: string;
  /** Default true. Turning it off is logged as a warning by the caller. */
  strictHostKeyChecking?: boolean;
  /** Directory for ControlMaster sockets (short path: unix sockets are limited to ~100 bytes).
   *  Created 0700 when missing; ssh is not started unless it is ours and 0700 (./control-dir.ts). */
  controlDir: string;
  connectTimeoutSec?: number;
  /** How long the master connection lingers after the last command. */
  controlPersistSec?: number;
}

/** Quote argv for the remote shell: OpenSSH joins its arguments with spaces and hands them to `sh -c`. */
export function remoteCommand(argv: readonly string[]): string {
  return quote([...argv]);
}

export class SshTransport implements Transport {
  readonly kind = 'ssh' as const;
  readonly host: string;
  private readonly base: string[];
  private readonly dest: string;

  constructor(private readonly target: SshTarget, private readonly opts: SshOptions) {
    this.host = target.host;
    const id = createHash('sha256').update(`${target.user}@${target.address}:${target.port}`).digest('hex').slice(0, 16);
    this.dest = `${target.user}@${target.address}`;
    this.base = [
      '-o', 'BatchMode=yes',
      '-o', `StrictHostKeyChecking=${opts.strictHostKeyChecking === false ? 'no' : 'yes'}`,
      ...(opts.knownHosts ? ['-o', `UserKnownHostsFile=${opts.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null'] : []),
      '-o', `ConnectTimeout=${opts.connectTimeoutSec ?? 10}`,
      '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4',
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${join(opts.controlDir, id)}`,
      '-o', `ControlPersist=${opts.controlPersistSec ?? 60}`,
      '-o', 'LogLevel=ERROR',
      '-p', String(target.port),
      ...(target.identity ? ['-i', target.identity, '-o', 'IdentitiesOnly=yes'] : []),
    ];
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (!argv.length) throw new Error('empty argv');
    ensureControlDir(this.opts.controlDir, this.host);
    const cmd = remoteCommand(argv);
    const t0 = performance.now();
    const r = await execa('ssh', [...this.base, '--', this.dest, cmd], { reject: false, timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, input: opts.input, stripFinalNewline: false, encoding: 'utf8' });
    const result: RunResult = { exitCode: r.exitCode ?? (r.timedOut ? 124 : 255), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), command: cmd, durationMs: performance.now() - t0 };
    // ssh itself exits 255 when it cannot connect or authenticate; the remote command's own codes pass through.
    if (result.exitCode === 255 && !r.timedOut && /ssh:|Host key verification failed|Permission denied|Connection (refused|timed out|closed)|No route to host|Could not resolve/i.test(result.stderr)) {
      throw new UnreachableError(this.host, result.stderr.trim().split('\n').slice(-1)[0] ?? 'ssh failed');
    }
    if ((result.exitCode !== 0 || r.timedOut) && !opts.allowFailure) throw new CommandError(this.host, result, Boolean(r.timedOut));
    return result;
  }

  async close(): Promise<void> {
    if (controlDirProblem(this.opts.controlDir)) return; // no master could have been started there
    await execa('ssh', [...this.base, '-O', 'exit', '--', this.dest], { reject: false, timeout: 5000 });
  }
}
