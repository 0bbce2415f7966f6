// Restore points on the fleet benchmark's backup storage, laid out as the engine writes them
// (`<root>/<hv>/<vm>/<id>/backup-metadata.json` + verification.json), so the observation reads a
// realistic store and the plan has retention, verification and catch-up work to decide.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE, VERIFY_FILE } from '../src/core/backup-layout.js';
import type { Manifest } from '../src/core/manifest.js';
import { allVms, type Fleet, type Rng } from './generate.js';

export interface StorageSummary { vms: number; points: number; failed: number; unverified: number; badVerify: number }

const DAY = 86_400_000;

/** `2026-11-28-120015` for a UTC date. */
const backupId = (d: Date): string => d.toISOString().slice(0, 19).replace('T', '-').replace(/:/g, '').replace(/^(\d{4})(\d{2})(\d{2})/, '$1-$2-$3');

/**
 * `vms` VMs (every k-th of the fleet, so all hypervisors get some) with `points` weekly restore
 * points each, the newest 1–10 days before `now`: about 3% failed (no manifest), 5% never
 * re-verified, 1% failed verification.
 */
export function writeStoredPoints(root: string, fleet: Fleet, rng: Rng, vms: number, points: number, now: string): StorageSummary {
  const all = allVms(fleet);
  const step = Math.max(1, Math.floor(all.length / Math.max(1, vms)));
  const sum: StorageSummary = { vms: 0, points: 0, failed: 0, unverified: 0, badVerify: 0 };
  const nowMs = Date.parse(now);
  for (let i = 0; i < all.length && sum.vms < vms; i += step) {
    const vm = all[i]!;
    sum.vms++;
    const newest = nowMs - rng.int(1, 10) * DAY;
    for (let p = 0; p < points; p++) {
      const started = new Date(newest - p * 7 * DAY + rng.int(0, 3600) * 1000);
      const id = backupId(started);
      const dir = join(root, vm.hypervisor, vm.name, id);
      mkdirSync(dir, { recursive: true });
      sum.points++;
      if (rng.chance(0.03)) { sum.failed++; continue; } // a failed run: no manifest
      const finished = new Date(started.getTime() + rng.int(300, 5400) * 1000).toISOString();
      const size = rng.int(2, 200) * 1073741824;
      const m: Manifest = {
        schema: 'vmbackup.manifest/v1', job_id: `run-${id}-${vm.name}`, backup_id: id, vm_name: vm.name, vm_uuid: '00000000-0000-4000-8000-000000000000',
        hypervisor: vm.hypervisor, started: started.toISOString(), finished, snapshot: `vmbackup-${id}`, method: vm.method ?? 'snapshot',
        consistency: 'filesystem', warnings: [], durations_ms: { copy_ms: 1000, total_ms: 2000 }, total_size_bytes: size,
        files: [{ path: `${vm.name}-vda.qcow2`, size_bytes: size, sha256: 'ab'.repeat(32), target: 'vda', format: 'qcow2' }],
        policy: { ...(vm.policy ? { name: vm.policy } : {}), revision: '0'.repeat(40) }, vmbackup_version: '0.1.0',
      };
      writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n');
      const v = rng.next();
      if (v < 0.05) { sum.unverified++; continue; }
      const bad = v > 0.99;
      if (bad) sum.badVerify++;
      writeFileSync(join(dir, VERIFY_FILE), JSON.stringify({ result: bad ? 'failed' : 'ok', at: finished, problems: bad ? ['vda: sha256 mismatch'] : [] }, null, 2) + '\n');
    }
  }
  return sum;
}
