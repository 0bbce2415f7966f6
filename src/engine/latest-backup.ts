// `--latest` for restore: the newest restore point that is verified good (a backup that succeeded
// and whose last verification passed) with a sound chain (every point an incremental builds on is
// there and good), the same test retention uses for "good".
import type { Vm } from '../core/model.js';
import { isGood } from '../core/retention.js';
import { chainProblems } from '../core/retention-chain.js';
import { toRestorePoint } from '../adapters/storage/backup-store.js';
import type { EngineContext } from './context.js';

export async function latestGoodBackup(ctx: EngineContext, vm: Pick<Vm, 'name' | 'hypervisor'>): Promise<string> {
  const all = (await ctx.storage.list(vm.hypervisor, vm.name)).map(toRestorePoint);
  const broken = chainProblems(all);
  const points = all.filter((p) => isGood(p) && !broken.has(p.id)).sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : a.id < b.id ? 1 : -1));
  const newest = points[0];
  if (!newest) throw new Error(`${vm.name} has no verified-good backup on ${ctx.storage.root}`);
  return newest.id;
}
