// The audit trail's durable half: one JSON line per act appended to <state-dir>/audit/YYYY-MM.jsonl
// (O_APPEND, never through a symlink, fsynced before the caller is answered). Entries are only
// ever appended; the status write-back copies the files into the repository (status/audit/).
import { constants } from 'node:fs';
import { mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { auditFileName, auditLine, parseAuditLines, type AuditEntry } from '../../core/audit/entry.js';
import { defaultVault } from '../secrets/default-vault.js';
import { readRegularText } from '../storage/read-untrusted.js';

const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** A month of ad-hoc work is far below this; a larger file is not read back whole. */
export const MAX_AUDIT_FILE_BYTES = 32 * 1024 * 1024;

export const auditDir = (stateDir: string): string => join(stateDir, 'audit');

export class AuditLog {
  private chain: Promise<unknown> = Promise.resolve();
  constructor(private readonly stateDir: string, private readonly scrub: (s: string) => string = defaultVault.scrub) {}

  /** Appends one entry and fsyncs it; entries from this process are written in call order. */
  append(e: AuditEntry): Promise<void> {
    const run = this.chain.then(async () => {
      const dir = auditDir(this.stateDir);
      await mkdir(dir, { recursive: true, mode: 0o750 });
      const fh = await open(join(dir, auditFileName(e.at)), APPEND, 0o640);
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new Error(`audit file for ${e.at.slice(0, 7)} is not a regular file; not written`);
        await fh.write(this.scrub(auditLine(e)));
        await fh.sync();
      } finally { await fh.close(); }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The month files present, oldest first (`2026-12.jsonl`, …). */
  async files(): Promise<string[]> {
    const names = await readdir(auditDir(this.stateDir)).catch(() => [] as string[]);
    return names.filter((n) => /^\d{4}-\d{2}\.jsonl$/.test(n)).sort();
  }

  /** Entries at or after `since` (ISO), oldest first, from the month files that can hold them. */
  async read(since = ''): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    for (const f of await this.files()) {
      if (since && f.slice(0, 7) < since.slice(0, 7)) continue;
      const text = await readRegularText(join(auditDir(this.stateDir), f), MAX_AUDIT_FILE_BYTES);
      out.push(...parseAuditLines(text).entries.filter((x) => x.at >= since));
    }
    return out;
  }
}
