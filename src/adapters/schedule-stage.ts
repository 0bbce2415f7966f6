// Stages rendered schedule files where the unprivileged daemon may write (<state-dir>/schedule):
// each file atomically, then the manifest last, whose change starts the root installer
// (vmbackup-schedule.path). Nothing is written when the stage already holds this content.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { STAGE_MANIFEST, type StagedScheduler } from '../core/schedule-install-check.js';
import { writeFileAtomic } from './atomic-write.js';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The manifest's text: scheduler, names, and a hash per file, so any content change changes it. */
export function manifestText(scheduler: StagedScheduler, files: readonly { path: string; content: string }[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : 1));
  return JSON.stringify({ scheduler, files: sorted.map((f) => f.path), sha256: Object.fromEntries(sorted.map((f) => [f.path, sha256(f.content)])) }, null, 2) + '\n';
}

/** Paths written (files, then the manifest); [] when the stage was already this. */
export async function stageSchedule(dir: string, scheduler: StagedScheduler, files: readonly { path: string; content: string }[]): Promise<string[]> {
  const manifest = manifestText(scheduler, files);
  const old = await readFile(join(dir, STAGE_MANIFEST), 'utf8').catch(() => undefined);
  const written: string[] = [];
  for (const f of files) {
    const p = join(dir, f.path);
    if (old === manifest && (await readFile(p, 'utf8').catch(() => undefined)) === f.content) continue;
    await writeFileAtomic(p, f.content, 0o644);
    written.push(p);
  }
  if (old !== manifest) {
    await writeFileAtomic(join(dir, STAGE_MANIFEST), manifest, 0o644);
    written.push(join(dir, STAGE_MANIFEST));
  }
  // Files no longer staged go after the manifest stopped naming them.
  const keep = new Set([STAGE_MANIFEST, ...files.map((f) => f.path)]);
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (!keep.has(n) && !n.startsWith('.')) await rm(join(dir, n), { force: true });
  }
  return written;
}
