// Each run's own log lines, for the console: the logger's tap appends every scrubbed line that
// carries `run` to <state-dir>/logs/<run>.jsonl (O_APPEND, never through a symlink, capped), and
// readRunLog/pruneRunLogs read them back safely and drop those of runs the history forgot.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isSafeRunId, parseRunLog, runIdOfLine, type RunLogLine } from '../../core/run-log.js';
import { readRegularText } from '../storage/read-untrusted.js';
import type { RunLogTap } from '../logger.js';

export type { RunLogLine } from '../../core/run-log.js';

/** Per run; past it one line says the log was cut (the journal still has everything). */
export const MAX_RUN_LOG_BYTES = 256 * 1024;
/** A file of an unknown run younger than this may belong to a run in progress (saved only at its end). */
export const PRUNE_GRACE_MS = 6 * 3600_000;

const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const MAX_REMEMBERED = 1000;

export const runLogDir = (stateDir: string): string => join(stateDir, 'logs');
/** The file of one run; the id must pass isSafeRunId (callers check, this throws). */
export function runLogPath(stateDir: string, runId: string): string {
  if (!isSafeRunId(runId)) throw new Error(`not a run id: ${JSON.stringify(runId).slice(0, 80)}`);
  return join(runLogDir(stateDir), `${runId}.jsonl`);
}

const remember = (s: Set<string>, id: string): void => { if (s.size >= MAX_REMEMBERED) s.clear(); s.add(id); };

/**
 * The tap for createLogger({ tap }): sees each line exactly as it goes to stderr (after the scrub),
 * appends those with a valid `run` to that run's file. Synchronous and best-effort: a failure is
 * reported once per run through `warn` (the logger's destination; a line without `run`) and never
 * reaches the caller.
 */
export function runLogTap(stateDir: string): RunLogTap {
  const dir = runLogDir(stateDir);
  const cut = new Set<string>();
  const failed = new Set<string>();
  let dirOk = false;
  const ensureDir = (): void => {
    if (dirOk) return;
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    if (!lstatSync(dir).isDirectory()) throw new Error(`${dir} is not a directory (a symlink?)`);
    dirOk = true;
  };
  return (line, warn) => {
    const run = runIdOfLine(line);
    if (!run || cut.has(run)) return;
    try {
      ensureDir();
      const fd = openSync(join(dir, `${run}.jsonl`), APPEND, 0o640);
      try {
        const st = fstatSync(fd);
        if (!st.isFile() || st.nlink !== 1) throw new Error('the run log is not a plain regular file');
        const text = line.endsWith('\n') ? line : `${line}\n`;
        const bytes = Buffer.byteLength(text);
        if (st.size + bytes <= MAX_RUN_LOG_BYTES) { writeSync(fd, text); return; }
        remember(cut, run);
        if (st.size < MAX_RUN_LOG_BYTES) writeSync(fd, `${JSON.stringify({ level: 40, time: new Date().toISOString(), run, msg: `run log cut at ${MAX_RUN_LOG_BYTES} bytes; later lines are only in the journal` })}\n`);
      } finally { closeSync(fd); }
    } catch (e) {
      if (failed.has(run)) return;
      remember(failed, run);
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ELOOP' ? 'the path is a symbolic link' : (e as Error).message;
      try { warn(`${JSON.stringify({ level: 40, time: new Date().toISOString(), pid: process.pid, runLog: run, err: why, msg: 'run log not written' })}\n`); } catch { /* never breaks logging */ }
    }
  };
}

/**
 * The lines of one run, oldest first (the last `maxLines`, default 2000), each with only the allowed
 * fields; undefined when the id is not a run id or the run has no log. A symlink, FIFO or oversized
 * file is refused (UntrustedFileError from read-untrusted.ts).
 */
export async function readRunLog(stateDir: string, runId: string, opts: { maxLines?: number } = {}): Promise<RunLogLine[] | undefined> {
  if (!isSafeRunId(runId)) return undefined;
  let text: string;
  try {
    text = await readRegularText(runLogPath(stateDir, runId), MAX_RUN_LOG_BYTES + 64 * 1024);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseRunLog(text, opts.maxLines ?? 2000);
}

/** Deletes the log files of runs not in `keepIds` (older than the grace period); returns how many went. */
export async function pruneRunLogs(stateDir: string, keepIds: ReadonlySet<string>, opts: { now?: Date; graceMs?: number } = {}): Promise<number> {
  const dir = runLogDir(stateDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const before = (opts.now ?? new Date()).getTime() - (opts.graceMs ?? PRUNE_GRACE_MS);
  let removed = 0;
  for (const n of names) {
    if (!n.endsWith('.jsonl')) continue;
    const id = n.slice(0, -'.jsonl'.length);
    if (!isSafeRunId(id) || keepIds.has(id)) continue;
    try {
      const st = await lstat(join(dir, n));
      if (!(st.isFile() || st.isSymbolicLink()) || st.mtimeMs > before) continue;
      await unlink(join(dir, n));
      removed++;
    } catch { /* gone already, or not ours to remove */ }
  }
  return removed;
}
