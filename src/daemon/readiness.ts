// /readyz from the daemon's state: a pure mapping to a stable code (see src/adapters/http/readiness.ts),
// so no error text (which can hold a secret or repository text) ever reaches the HTTP answer.
import type { Readiness } from '../adapters/http/readiness.js';

export interface ReadinessInput {
  /** The first reconcile since start has finished. */
  firstDone: boolean;
  lastAppliedRevision?: string | undefined;
  /** The last attempt's errors (only their count is used). */
  lastAttemptErrors: readonly string[];
  /** The last attempt failed in a way worth retrying (the director could not be reloaded). */
  lastAttemptRetry?: boolean | undefined;
}

export function readinessOf(s: ReadinessInput): Readiness {
  if (!s.firstDone) return { ready: false, code: 'FIRST_RECONCILE_PENDING' };
  const problem = s.lastAttemptErrors.length ? (s.lastAttemptRetry ? 'STALLED' : 'REVISION_REFUSED') : undefined;
  if (!s.lastAppliedRevision) return { ready: false, code: problem ?? 'NO_APPLIED_REVISION' };
  return { ready: true, revision: s.lastAppliedRevision, ...(problem ? { code: problem } : {}) };
}
