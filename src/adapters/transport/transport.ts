// How the engine runs a program on a hypervisor: an argv array in, exit code and output out.
// Two implementations (local, ssh) share this port so the engine never knows which it has.

export interface RunOptions {
  /** Kill the command after this many ms (every remote command has one). */
  timeoutMs?: number;
  /** Bytes for the command's stdin (binary too: a git pack for the hypervisor's policy copy). */
  input?: string | Uint8Array;
  /** Resolve instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** argv as the user would read it (for logs and errors). */
  command: string;
  durationMs: number;
}

export interface Transport {
  readonly kind: 'local' | 'ssh';
  /** The hypervisor's name, for logs and errors. */
  readonly host: string;
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Close any shared connection (ssh ControlMaster). Idempotent. */
  close(): Promise<void>;
}

/** A remote command failed: carries what happened so callers can decide and users can read. */
export class CommandError extends Error {
  constructor(readonly host: string, readonly result: RunResult, readonly timedOut = false) {
    super(`${host}: ${result.command} ${timedOut ? 'timed out' : `exited ${result.exitCode}`}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
    this.name = 'CommandError';
  }
}

/** The host could not be reached at all (ssh exit 255): its VMs are Unknown, others unaffected. */
export class UnreachableError extends Error {
  constructor(readonly host: string, detail: string) {
    super(`${host}: unreachable: ${detail}`);
    this.name = 'UnreachableError';
  }
}

export const DEFAULT_TIMEOUT_MS = 120_000;
