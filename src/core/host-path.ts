// Paths handed to a program on a hypervisor (read from libvirt, storage or the repository) are
// data, never options: they must be absolute and normalised, so none can begin with `-`, and every
// argv builder still puts `--` before them where the program accepts it. Pure string checks.
import { posix } from 'node:path';

export const HOST_PATH_UNSAFE = 'HOST_PATH_UNSAFE' as const;

/** A path was refused before any program saw it. */
export class HostPathError extends Error {
  readonly code = HOST_PATH_UNSAFE;
  constructor(readonly path: string, why: string) {
    super(`${HOST_PATH_UNSAFE}: refusing path ${JSON.stringify(path)}: ${why}`);
    this.name = 'HostPathError';
  }
}

/** Why `p` is not an absolute normalised path, or undefined when it is. */
export function hostPathProblem(p: unknown): string | undefined {
  if (typeof p !== 'string' || p === '') return 'empty';
  if (p.includes('\0')) return 'contains a NUL character';
  if (!p.startsWith('/')) return 'not an absolute path';
  if (p.split('/').some((s) => s === '..' || s === '.')) return 'has "." or ".." segments';
  if (p !== '/' && (p.endsWith('/') || p.includes('//'))) return 'not normalised';
  if (posix.normalize(p) !== p) return 'not normalised';
  return undefined;
}

/** Returns `p` when it is an absolute normalised path; throws HostPathError otherwise. */
export function hostPath(p: string): string {
  const why = hostPathProblem(p);
  if (why) throw new HostPathError(p, why);
  return p;
}

/** The directory holding `p` (itself checked): `/a/b/c` → `/a/b`, `/c` → `/`. */
export function hostDirname(p: string): string {
  return posix.dirname(hostPath(p));
}

/** A plain file name inside one directory: no `/`, not `.`/`..`, no NUL, not empty. */
export function plainNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'empty';
  if (name.includes('\0')) return 'contains a NUL character';
  if (name.includes('/')) return 'contains "/"';
  if (name === '.' || name === '..') return `is "${name}"`;
  return undefined;
}

export type FileKind = 'regular file' | 'directory' | 'symbolic link' | 'fifo' | 'socket' | 'character device' | 'block device' | 'unknown file';

/** S_IFMT of a mode, in words. */
export function kindOf(mode: number): FileKind {
  switch (mode & 0o170000) {
    case 0o100000: return 'regular file';
    case 0o040000: return 'directory';
    case 0o120000: return 'symbolic link';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    case 0o020000: return 'character device';
    case 0o060000: return 'block device';
    default: return 'unknown file';
  }
}
