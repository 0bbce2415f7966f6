// A VM is locked twice: in the state dir (this control host) and in the VM's directory on the
// shared backup storage, so two vmbackup installations (or state dirs) sharing the NFS share
// never back up, or "recover", the same VM at once.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { vmDir } from '../core/backup-layout.js';
import type { Vm } from '../core/model.js';
import { acquireLock, type Lock, type LockInfo } from '../adapters/lock.js';
import type { EngineContext } from './context.js';

export interface VmLock { release(): Promise<void>; tookOver?: LockInfo }

export async function lockVm(ctx: EngineContext, vm: Pick<Vm, 'name' | 'hypervisor'>, what: string): Promise<VmLock> {
  const local = await acquireLock(join(ctx.stateDir, 'locks'), vm.name, what, ctx.now);
  let shared: Lock;
  try {
    const dir = vmDir(ctx.storage.root, vm.hypervisor, vm.name);
    await mkdir(dir, { recursive: true, mode: 0o750 });
    shared = await acquireLock(dir, vm.name, what, ctx.now);
  } catch (e) {
    await local.release();
    throw e;
  }
  const tookOver = local.tookOver ?? shared.tookOver;
  return { release: async () => { await shared.release(); await local.release(); }, ...(tookOver ? { tookOver } : {}) };
}
