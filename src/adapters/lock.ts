// A per-VM lock on the control host: one backup/restore/cleanup of a VM at a time. The lock file
// holds the owner's pid; a lock whose owner is dead (killed, crashed) is stale and taken over.
import { open, readFile, rm, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface LockInfo { pid: number; host: string; since: string; what: string }

export class LockedError extends Error {
  constructor(readonly resource: string, readonly holder: LockInfo) {
    super(`${resource} is busy: ${holder.what} has been running since ${holder.since} (pid ${holder.pid} on ${holder.host})`);
    this.name = 'LockedError';
  }
}

/** Is a process alive (EPERM: alive, someone else's)? */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export interface Lock { release(): Promise<void>; /** true when a dead owner's lock was taken over */ readonly tookOver?: LockInfo }

export async function acquireLock(dir: string, resource: string, what: string, now: () => Date = () => new Date()): Promise<Lock> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${resource}.lock`);
  const me: LockInfo = { pid: process.pid, host: hostname(), since: now().toISOString(), what };
  let tookOver: LockInfo | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(JSON.stringify(me));
      await fh.close();
      return { release: async () => { await rm(path, { force: true }); }, ...(tookOver ? { tookOver } : {}) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder: LockInfo | undefined;
    try { holder = JSON.parse(await readFile(path, 'utf8')) as LockInfo; } catch { holder = undefined; }
    if (holder && holder.host === me.host && !alive(holder.pid)) {
      tookOver = holder;
      await rm(path, { force: true });
      continue;
    }
    if (holder) throw new LockedError(resource, holder);
    // Empty or half-written lock file: its writer is between open and write; give it a moment.
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`cannot take the lock ${path}`);
}
