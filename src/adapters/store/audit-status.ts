// Reads the audit month files of the state dir for the status write-back (status/audit/): names
// `YYYY-MM.jsonl` only, each opened without following a symlink and as a regular file only; a file
// that cannot be read that way is left out and named, never guessed at.
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_FILE_RE, auditStatusPath } from '../../core/audit/mirror.js';
import { readRegularText } from '../storage/read-untrusted.js';
import { AuditLog, MAX_AUDIT_FILE_BYTES, auditDir } from './audit-log.js';

export interface AuditForStatus {
  /** `<statusPath>/audit/YYYY-MM.jsonl` → the state file's text, oldest month first. */
  files: Map<string, string>;
  /** Month files left out (a symlink, not a regular file, too large, unreadable). */
  unreadable: { file: string; error: string }[];
}

/**
 * `checkout`: the status checkout. A month whose copy there has the state file's size is left out
 * unread: both only ever grow, so an equal size is an unchanged month (a copy edited in git to the
 * same size is caught at the month's next append, by the prefix check). Every pass read and scrubbed
 * every month before, which grows by twelve files a year.
 */
export async function readAuditForStatus(stateDir: string, statusPath: string, checkout?: string): Promise<AuditForStatus> {
  const out: AuditForStatus = { files: new Map(), unreadable: [] };
  for (const f of await new AuditLog(stateDir).files()) {
    if (!AUDIT_FILE_RE.test(f)) continue;
    const path = join(auditDir(stateDir), f);
    try {
      // Bounded by the size seen now (plus room for lines appended meanwhile), not a 32 MiB buffer per pass.
      const size = (await lstat(path)).size;
      if (checkout !== undefined && (await lstat(join(checkout, auditStatusPath(statusPath, f))).catch(() => undefined))?.size === size) continue;
      out.files.set(auditStatusPath(statusPath, f), await readRegularText(path, Math.min(MAX_AUDIT_FILE_BYTES, size + 1024 * 1024)));
    } catch (e) {
      out.unreadable.push({ file: f, error: (e as Error).message });
    }
  }
  return out;
}
