// What the backup storage holds, VM by VM (including VMs that left the repo): the one walk the
// daemon's reconcile and `vmbackup prune` both plan from, so they see the same restore points.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObservedPoint, ObservedVmStorage } from '../core/reconcile/types.js';
import { toRestorePoint, type BackupStore } from '../adapters/storage/backup-store.js';

const NAME = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

async function dirs(path: string): Promise<string[]> {
  try { return (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory() && NAME.test(e.name)).map((e) => e.name).sort(); } catch { return []; }
}

/** Every VM directory under every hypervisor directory; `hypervisorOf` names a VM's current host (a VM that moved keeps its older backups under the old host). `only` limits the walk to some VMs. */
export async function observeStorage(storage: BackupStore, hypervisorOf: (vm: string) => string | undefined, only?: ReadonlySet<string>): Promise<Record<string, ObservedVmStorage>> {
  const out: Record<string, ObservedVmStorage> = {};
  for (const hv of await dirs(storage.root)) {
    for (const vm of await dirs(join(storage.root, hv))) {
      if (only && !only.has(vm)) continue;
      const list = await storage.list(hv, vm);
      const points: ObservedPoint[] = list.map((b) => ({ ...toRestorePoint(b), ...(b.manifest ? { sizeBytes: b.manifest.total_size_bytes } : {}), verifiedAt: b.verification?.at ?? b.manifest?.finished ?? toRestorePoint(b).time }));
      const partials = await storage.partials(hv, vm);
      const prev = out[vm];
      const hypervisor = hypervisorOf(vm) ?? hv;
      out[vm] = prev ? { hypervisor, points: [...prev.points, ...points], partials: [...prev.partials, ...partials] } : { hypervisor, points, partials };
    }
  }
  return out;
}
