// The ad-hoc acts of a digest's period: the audit log's entries since the previous digest (its time
// kept in the state file, so a restart between two digests loses nothing and repeats nothing).
import { auditBetween, type AuditEntry } from '../../core/audit/entry.js';
import type { AuditLog } from '../store/audit-log.js';
import type { StateStore } from '../store/state-store.js';

/** state.json key: when the previous digest took its period (ISO). */
export const LAST_DIGEST_KEY = 'lastDigestAt';
/** The first digest (no previous one) covers this much: the digest's own "last 7 days". */
export const FIRST_PERIOD_MS = 7 * 86_400_000;

/** Entries in [previous digest, now), oldest first; the next period starts at `now`. */
export async function takeAdhocPeriod(store: StateStore, audit: AuditLog, now: Date): Promise<AuditEntry[]> {
  const to = now.toISOString();
  const prev = (await store.fresh())[LAST_DIGEST_KEY];
  const from = typeof prev === 'string' && !Number.isNaN(Date.parse(prev)) && prev < to ? prev : new Date(now.getTime() - FIRST_PERIOD_MS).toISOString();
  const entries = auditBetween(await audit.read(from), from, to);
  await store.update((d) => { d[LAST_DIGEST_KEY] = to; });
  return entries;
}
