// The root side of schedule staging: read the daemon's stage as untrusted (no symlinks, regular
// files only, size-capped), check it against the allow-list, then install cron.d or timers
// atomically (created by root: 0644 root:root, no chown) and drive systemctl with argv arrays. Nothing changes when nothing differs.
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HEADER } from '../core/render-view.js';
import {
  checkStaged, parseManifest, SCHEDULE_REFUSED, STAGE_MANIFEST, STAGED_CRON, UNIT_NAME, type CheckOptions, type StagedManifest,
} from '../core/schedule-install-check.js';
import { writeFileAtomic } from './atomic-write.js';
import { sha256 } from './schedule-stage.js';
import { readRegularText } from './storage/read-untrusted.js';

const run = promisify(execFile);
const MAX_FILE = 256 * 1024;

/** The stage is not installed: what is wrong with it (never the content of a file). */
export class ScheduleRefusedError extends Error {
  readonly code = SCHEDULE_REFUSED;
  constructor(readonly reasons: string[]) {
    super(`staged schedule refused: ${reasons.slice(0, 20).join('; ')}`);
    this.name = 'ScheduleRefusedError';
  }
}

export interface InstallTargets extends CheckOptions {
  from: string;
  cronDir: string;
  unitDir: string;
  systemctl: string;
}

export interface InstallResult {
  scheduler: StagedManifest['scheduler'];
  written: string[];
  removed: string[];
  systemctl: string[][];
}

/** The stage, read and checked; throws ScheduleRefusedError. */
export async function readStage(from: string, o: CheckOptions): Promise<{ manifest: StagedManifest; files: Map<string, string> }> {
  const st = await lstat(from);
  if (!st.isDirectory()) throw new ScheduleRefusedError([`${from} is not a directory (a symbolic link is refused)`]);
  const refuse = async (p: string): Promise<string> => {
    try { return await readRegularText(p, MAX_FILE); } catch (e) {
      throw new ScheduleRefusedError([(e as Error).message]);
    }
  };
  const m = parseManifest(await refuse(join(from, STAGE_MANIFEST)));
  if ('errors' in m) throw new ScheduleRefusedError(m.errors);
  const hashes = (JSON.parse(await refuse(join(from, STAGE_MANIFEST))) as { sha256?: Record<string, unknown> }).sha256 ?? {};
  const files = new Map<string, string>();
  for (const f of m.files) {
    const text = await refuse(join(from, f));
    if (hashes[f] !== sha256(text)) throw new ScheduleRefusedError([`${f}: does not match the manifest (staging in progress? the next change of the manifest retries)`]);
    files.set(f, text);
  }
  const errors = checkStaged(m, files, o);
  if (errors.length) throw new ScheduleRefusedError(errors);
  return { manifest: m, files };
}

const ours = async (path: string): Promise<boolean> => {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  return (await readFile(path, 'utf8')).split('\n', 5).some((l) => l.startsWith('#') && l.includes(HEADER));
};

/** Installs a checked stage; the previous files stay in force when a step fails. */
export async function installStage(t: InstallTargets): Promise<InstallResult> {
  const { manifest, files } = await readStage(t.from, t);
  const r: InstallResult = { scheduler: manifest.scheduler, written: [], removed: [], systemctl: [] };
  const sc = async (...args: string[]): Promise<void> => { r.systemctl.push(args); await run(t.systemctl, args); };
  const cronPath = join(t.cronDir, 'vmbackup');
  // cron.d: one file. Leaving cron mode removes it (only when vmbackup generated it).
  if (manifest.scheduler === 'cron') {
    const text = files.get(STAGED_CRON)!;
    if ((await readFile(cronPath, 'utf8').catch(() => undefined)) !== text) { await writeFileAtomic(cronPath, text, 0o644); r.written.push(cronPath); }
  } else if (await ours(cronPath)) { await rm(cronPath); r.removed.push(cronPath); }
  // systemd: the staged units; installed vmbackup-* units with the header that are no longer staged go.
  const installed = (await readdir(t.unitDir).catch(() => [] as string[])).filter((n) => UNIT_NAME.test(n));
  const stale: string[] = [];
  for (const n of installed) if (!files.has(n) && await ours(join(t.unitDir, n))) stale.push(n);
  const changed = manifest.scheduler === 'systemd' ? await changedUnits(t.unitDir, files) : [];
  if (!stale.length && !changed.length) return r;
  const staleTimers = stale.filter((n) => n.endsWith('.timer'));
  if (staleTimers.length) await sc('disable', '--now', '--', ...staleTimers);
  for (const n of stale) { await rm(join(t.unitDir, n)); r.removed.push(join(t.unitDir, n)); }
  for (const n of changed) { await writeFileAtomic(join(t.unitDir, n), files.get(n)!, 0o644); r.written.push(join(t.unitDir, n)); }
  await sc('daemon-reload');
  const timers = changed.filter((n) => n.endsWith('.timer'));
  if (timers.length) await sc('enable', '--now', '--', ...timers);
  return r;
}

async function changedUnits(dir: string, files: Map<string, string>): Promise<string[]> {
  const out: string[] = [];
  for (const [n, text] of files) if ((await readFile(join(dir, n), 'utf8').catch(() => undefined)) !== text) out.push(n);
  return out.sort();
}
