// The daemon's and CLI's memory, in lowdb (one JSON file in the state dir, scrubbed of secrets and
// written durably through a private temp file): run history (capped), and anything that must survive a restart.
import { Low } from 'lowdb';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, LockedError, type Lock } from '../lock.js';
import { defaultVault } from '../secrets/default-vault.js';
import { SecureJsonFile } from './secure-json-file.js';
import { pruneRunLogs } from './run-logs.js';

/** Short-held lock: retry for up to 30 s (a holder only ever reads and writes one small file). */
async function waitForLock(dir: string, name: string): Promise<Lock> {
  const until = Date.now() + 30_000;
  for (;;) {
    try { return await acquireLock(dir, name, 'state.json update'); } catch (e) {
      if (!(e instanceof LockedError) || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export type { RunKind, RunStatus, RunStep, RunRecord } from '../../core/run-record.js';
import type { RunRecord } from '../../core/run-record.js';

export interface StateData {
  version: 1;
  runs: RunRecord[];
  [key: string]: unknown;
}

export const MAX_RUNS = 2000;

export class StateStore {
  private chain: Promise<unknown> = Promise.resolve();
  /** inode:size:mtime of state.json as last read or written by this process (undefined: read again). */
  private stamp: string | undefined;
  private constructor(private readonly db: Low<StateData>, private readonly dir: string) {}

  private async stampNow(): Promise<string> {
    const st = await stat(join(this.dir, 'state.json'), { bigint: true }).catch(() => undefined);
    return st ? `${st.ino}:${st.size}:${st.mtimeNs}` : 'none';
  }

  /** Parses state.json again only when it changed on disk (every writer renames a new file in):
   *  the console reads the state on every request, and the file holds 2,000 runs. */
  private async reload(): Promise<void> {
    const now = await this.stampNow();
    if (now === this.stamp) return;
    await this.db.read();
    this.stamp = now;
  }

  /** After a write the next read parses the file again: what is on disk went through the scrub,
   *  the objects in memory did not (a secret in an error text must not reach the console). */
  private async write(): Promise<void> {
    this.stamp = undefined;
    await this.db.write();
  }

  /** `scrub` (default: the process-wide vault's) is applied to the serialized JSON before every write. */
  static async open(stateDir: string, opts: { scrub?: (s: string) => string } = {}): Promise<StateStore> {
    await mkdir(stateDir, { recursive: true, mode: 0o750 });
    const db = new Low<StateData>(new SecureJsonFile<StateData>(join(stateDir, 'state.json'), opts.scrub ?? defaultVault.scrub), { version: 1, runs: [] });
    const store = new StateStore(db, stateDir);
    await store.reload();
    return store;
  }

  /**
   * Read-modify-write under a lock: the daemon and the `vmbackup backup` processes Bacula starts
   * share this file, and lowdb writes it whole, so unlocked writers would lose each other's runs.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      const lock = await waitForLock(join(this.dir, 'locks'), 'state-json');
      try { await this.reload(); return await fn(); } finally { await lock.release(); }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  get data(): StateData { return this.db.data; }

  /** Re-reads the file: what another process (the CLI, a Bacula-started backup) wrote since. */
  async fresh(): Promise<StateData> { await this.reload(); return this.db.data; }

  /** Adds or replaces a run (by id) and writes; history is capped to the newest MAX_RUNS. */
  async saveRun(run: RunRecord): Promise<void> {
    const kept = await this.exclusive(async () => {
    const runs = this.db.data.runs.filter((r) => r.id !== run.id);
    runs.push(run);
    this.db.data.runs = runs.slice(-MAX_RUNS);
    await this.write();
    return runs.length > MAX_RUNS ? new Set(this.db.data.runs.map((r) => r.id)) : undefined;
    });
    // A run the history forgot takes its log file (<state-dir>/logs, run-logs.ts) with it.
    if (kept) await pruneRunLogs(this.dir, kept).catch(() => 0);
  }

  async runs(filter: Partial<Pick<RunRecord, 'vm' | 'kind' | 'status'>> = {}): Promise<RunRecord[]> {
    await this.reload();
    return this.db.data.runs.filter((r) => (!filter.vm || r.vm === filter.vm) && (!filter.kind || r.kind === filter.kind) && (!filter.status || r.status === filter.status));
  }

  /** Runs left `running` by a process that no longer exists are marked interrupted. */
  async markInterrupted(isAlive: (pid: number) => boolean, now: string): Promise<RunRecord[]> {
    return this.exclusive(async () => {
    const hit = this.db.data.runs.filter((r) => r.status === 'running' && !isAlive(r.pid));
    for (const r of hit) { r.status = 'interrupted'; r.finished = now; r.error ??= 'the process running it died (killed or crashed)'; }
    if (hit.length) await this.write();
    return hit;
    });
  }

  async update(mutate: (d: StateData) => void): Promise<void> {
    await this.exclusive(async () => { mutate(this.db.data); await this.write(); });
  }
}
