// The directory of ssh ControlMaster sockets: whoever can write there can plant a socket that
// ssh would use as an already-authenticated master (or read our session). So it must be a real
// directory (not a symlink) owned by the daemon's user with no group/other bits, or ssh is not
// started. Missing: created 0700.
import { lstatSync, mkdirSync } from 'node:fs';
import { UnreachableError } from './transport.js';

export const CONTROL_DIR_UNSAFE = 'SSH_CONTROL_DIR_UNSAFE' as const;

/** ssh was not started: the ControlPath directory is not private to the daemon's user. */
export class ControlDirError extends UnreachableError {
  readonly code = CONTROL_DIR_UNSAFE;
  constructor(host: string, readonly dir: string, readonly why: string) {
    super(host, `${CONTROL_DIR_UNSAFE}: ssh control directory ${dir} ${why}; it must be a directory owned by uid ${process.getuid?.() ?? '?'} with mode 0700; ssh not started`);
    this.name = 'ControlDirError';
  }
}

/** Why `dir` is not safe, or undefined when it is. Never follows a symlink. */
export function controlDirProblem(dir: string, uid: number | undefined = process.getuid?.()): string | undefined {
  let st;
  try { st = lstatSync(dir); } catch (e) { return `cannot be examined (${(e as NodeJS.ErrnoException).code ?? 'error'})`; }
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isDirectory()) return 'is not a directory';
  if (uid !== undefined && st.uid !== uid) return `is owned by uid ${st.uid}`;
  if ((st.mode & 0o077) !== 0) return `has mode 0${(st.mode & 0o777).toString(8)}`;
  return undefined;
}

/** Creates the directory 0700 when missing, then checks it; throws ControlDirError if unsafe. */
export function ensureControlDir(dir: string, host: string): void {
  try { mkdirSync(dir, { recursive: true, mode: 0o700 }); } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new ControlDirError(host, dir, `cannot be created (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const why = controlDirProblem(dir);
  if (why) throw new ControlDirError(host, dir, why);
}
