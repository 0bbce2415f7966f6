// Deleting a restore point: the only place vmbackup removes a published backup. It re-checks
// the plan's decision against storage as it is now (defence in depth): the point must exist, and
// it must not be the newest verified-good one (with a sound chain), nor the parent of another
// stored point (an incremental needs it). A non-directory where a point should be (a planted
// symlink) is removed itself, never what it points at.
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { backupDir } from '../../core/backup-layout.js';
import { chainProblems } from '../../core/retention-chain.js';
import { BackupStore, toRestorePoint } from './backup-store.js';

export async function pruneBackup(store: BackupStore, vm: string, id: string): Promise<string> {
  let hvs: string[] = [];
  try { hvs = (await readdir(store.root)).sort(); } catch { /* no storage */ }
  for (const hv of hvs) {
    const list = await store.list(hv, vm).catch(() => []);
    const target = list.find((b) => b.id === id);
    if (!target) continue;
    const points = list.map(toRestorePoint);
    const broken = chainProblems(points);
    const good = points.filter((p) => p.status === 'ok' && p.verify === 'ok' && !broken.has(p.id)).sort((a, b) => (a.time < b.time ? 1 : -1));
    if (good[0]?.id === id) throw new Error(`refusing to prune ${vm}/${id}: it is the newest verified-good backup`);
    // An incremental is useless without its parent: never delete a point another stored point builds on.
    const child = points.find((p) => p.parent === id);
    if (child) throw new Error(`refusing to prune ${vm}/${id}: restore point ${child.id} is an incremental built on it (prune ${child.id} first)`);
    const entry = backupDir(store.root, hv, vm, id);
    if (!(await lstat(entry)).isDirectory()) { await rm(entry, { force: true }); return entry; }
    const dir = await store.confine(entry);
    // Rename first so a half-deleted directory is never mistaken for a restore point.
    const doomed = join(store.root, hv, vm, `.pruning-${id}`);
    await rename(dir, doomed);
    await rm(doomed, { recursive: true, force: true });
    return dir;
  }
  throw new Error(`no backup ${id} of ${vm} on storage`);
}
