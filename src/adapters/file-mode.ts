// The mode and owner a rendered file is installed with. A file the renderer marks private (a mode
// with no group/other bits: it holds a filled-in secret) is 0600, or 0640 when its reader needs
// the group — whatever the old file's mode was; any other file keeps the old file's mode.
import type { FileOwner } from './atomic-write.js';

export interface Existing { mode: number; uid: number; gid: number }

export const isPrivateMode = (mode: number): boolean => (mode & 0o077) === 0;

/**
 * - private, old file present: owner and group kept; 0600, plus group read only if the old file
 *   granted it (root:bacula 0640 stays readable by bacula-dir; a 0644 becomes 0640; "other" never).
 * - private, new file: group read only if the directory grants its group read, and then the
 *   file takes the directory's group (/etc/bacula root:bacula 0750 → root:bacula 0640); else 0600.
 * - not private: the old file's mode and owner, or `wanted` for a new file.
 * Owners are only set when running as root (`asRoot`).
 */
export function installMode(wanted: number, old: Existing | undefined, dir: Existing | undefined, asRoot: boolean): { mode: number; owner?: FileOwner } {
  const keep = old && asRoot ? { owner: { uid: old.uid, gid: old.gid } } : {};
  if (!isPrivateMode(wanted)) return { mode: old ? old.mode & 0o7777 : wanted, ...keep };
  if (old) return { mode: 0o600 | (old.mode & 0o040), ...keep };
  if (dir && (dir.mode & 0o040)) return { mode: 0o640, ...(asRoot ? { owner: { uid: 0, gid: dir.gid } } : {}) };
  return { mode: 0o600 };
}
