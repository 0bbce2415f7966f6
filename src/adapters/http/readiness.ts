// What /readyz may say: a status and a stable reason code, never free text (an error message can
// hold a filled-in secret or text from the repository, and /readyz is unauthenticated).

/** Why the daemon is not ready (503). */
export const NOT_READY_CODES = [
  'FIRST_RECONCILE_PENDING', // started; the first reconcile has not finished
  'NO_APPLIED_REVISION', // reconciled, but no revision was ever applied (nothing to apply yet)
  'REVISION_REFUSED', // no revision applied; the candidate was refused (invalid, unsigned, history rewritten, apply failed)
  'STALLED', // no revision applied; applying the candidate failed in a retryable way (e.g. the director could not be reloaded)
  'READINESS_CHECK_FAILED', // the check itself threw (logged, not returned)
  'READINESS_CHECK_TIMEOUT', // the check did not answer in time
] as const;
export type NotReadyCode = (typeof NOT_READY_CODES)[number];

/** A note on a ready daemon (200): the last applied revision is in force but the newest was not applied. */
export const READY_NOTE_CODES = ['REVISION_REFUSED', 'STALLED'] as const;
export type ReadyNoteCode = (typeof READY_NOTE_CODES)[number];

export type Readiness =
  | { ready: true; revision?: string; code?: ReadyNoteCode }
  | { ready: false; code: NotReadyCode };

const REVISION = /^[0-9a-f]{7,64}$/;

/** The /readyz body. Only codes from the lists above and a hex revision ever reach the wire. */
export function readinessBody(r: Readiness): { status: number; body: { status: 'ready' | 'not_ready'; revision?: string; reason?: string } } {
  if (!r.ready) {
    const code = (NOT_READY_CODES as readonly string[]).includes(r.code) ? r.code : 'READINESS_CHECK_FAILED';
    return { status: 503, body: { status: 'not_ready', reason: code } };
  }
  const note = r.code && (READY_NOTE_CODES as readonly string[]).includes(r.code) ? r.code : undefined;
  const revision = r.revision && REVISION.test(r.revision) ? r.revision : undefined;
  return { status: 200, body: { status: 'ready', ...(revision ? { revision } : {}), ...(note ? { reason: note } : {}) } };
}
