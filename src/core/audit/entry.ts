// One line of the audit trail: who did what to which VM, when, and how it ended. Plain data; the
// shell fills `by` and `at` from the authenticated principal and its own clock, never from a request.
export type AuditAct = 'backup' | 'verify' | 'test-restore' | 'prune' | 'restore' | 'cancel' | 'pause' | 'resume' | 'login';
export type AuditResult = 'accepted' | 'refused' | 'ok' | 'failed' | 'cancelled';

export interface AuditEntry {
  /** ISO time, set by the process that writes the entry. */
  at: string;
  /** The token's name (`api:<name>`) or the Unix user of a CLI call (`cli:<user>`). Never the token. */
  by: string;
  /** The role the act was allowed under (`cli` for a local shell). */
  role: 'viewer' | 'operator' | 'admin' | 'cli';
  act: AuditAct;
  vm?: string;
  /** The queued action's id, so the `accepted` line and its `ok`/`failed` line pair up. */
  action_id?: string;
  backup_id?: string;
  result: AuditResult;
  /** What happened, in one line (already redacted by the writer). */
  detail?: string;
  /** The applied revision the act ran under. */
  revision?: string;
}

const ACTS: ReadonlySet<string> = new Set(['backup', 'verify', 'test-restore', 'prune', 'restore', 'cancel', 'pause', 'resume', 'login']);
const RESULTS: ReadonlySet<string> = new Set(['accepted', 'refused', 'ok', 'failed', 'cancelled']);
const ROLES: ReadonlySet<string> = new Set(['viewer', 'operator', 'admin', 'cli']);
const FIELDS = ['at', 'by', 'role', 'act', 'vm', 'action_id', 'backup_id', 'result', 'detail', 'revision'] as const;

/** The file an entry goes to, by its month (UTC): `YYYY-MM.jsonl`. */
export const auditFileName = (at: string): string => `${at.slice(0, 7)}.jsonl`;

/** One JSON line with the fields in a fixed order, control characters escaped by JSON. */
export function auditLine(e: AuditEntry): string {
  const o: Record<string, unknown> = {};
  for (const k of FIELDS) if (e[k] !== undefined) o[k] = e[k];
  return `${JSON.stringify(o)}\n`;
}

/** Parses a `.jsonl` file leniently: lines that are not well-formed entries are skipped and counted. */
export function parseAuditLines(text: string): { entries: AuditEntry[]; bad: number } {
  const entries: AuditEntry[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o.at !== 'string' || typeof o.by !== 'string' || !ACTS.has(String(o.act)) || !RESULTS.has(String(o.result)) || !ROLES.has(String(o.role))) { bad++; continue; }
      entries.push(o as unknown as AuditEntry);
    } catch { bad++; }
  }
  return { entries, bad };
}

/** Entries in [from, to), oldest first: the digest's "ad-hoc actions of the period". */
export const auditBetween = (entries: readonly AuditEntry[], from: string, to: string): AuditEntry[] =>
  entries.filter((e) => e.at >= from && e.at < to).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
