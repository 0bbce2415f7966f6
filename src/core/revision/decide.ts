// Which policy revision is in force, as a pure function of what the daemon remembers and what one
// attempt found (Flux's lastAppliedRevision / lastAttemptedRevision): the daemon's cycle only
// gathers the facts and carries out the returned effects, so every transition is table-tested.

/** What the daemon remembers about revisions (a part of its state file). */
export interface RevisionState {
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  lastAttemptErrors: string[];
  lastAttemptAt?: string;
  /** The last attempt failed in a way worth retrying (the director could not be reloaded). */
  lastAttemptRetry?: boolean;
  /** Refused revisions already alerted on (newest last; bounded by the caller). */
  alertedRevisions: string[];
}

/** Why a candidate was refused; stable codes, documented in docs/security.md. */
export type RefusalStage = 'untrusted' | 'history' | 'invalid' | 'apply';

export type AttemptOutcome =
  | { ok: true }
  | { ok: false; stage: RefusalStage; errors: string[]; retry?: boolean };

/** What to do before any work: `attempt` is the only gate that trusts, validates and applies. */
export type Gate = 'unchanged' | 'known-refused' | 'attempt';

/**
 * unchanged: the candidate is the applied revision. known-refused: it was refused before and
 * the refusal is final until a new commit (one alert, one status commit, no loop). A refusal
 * worth retrying (director down) is attempted again.
 */
export function gateRevision(s: Readonly<RevisionState>, candidate: string): Gate {
  if (candidate === s.lastAppliedRevision) return 'unchanged';
  if (candidate === s.lastAttemptedRevision && s.lastAttemptErrors.length > 0 && !s.lastAttemptRetry) return 'known-refused';
  return 'attempt';
}

export type Verdict = 'unchanged' | 'known-refused' | 'applied' | 'refused';

export interface RevisionDecision {
  verdict: Verdict;
  state: RevisionState;
  /** The revision whose policy acts after this decision (undefined: none was ever applied). */
  inForce?: string;
  /** Alert once: a refusal not alerted before. */
  alert?: { revision: string; stage: RefusalStage; errors: string[]; appliedRevision?: string };
  /** A good revision after alerted refusals. */
  recovered?: { revision: string; failedRevision?: string };
  /** A new revision replaced the previous one (removed VMs are noticed against `previous`). */
  changed?: { previous?: string };
}

const ALERT_MEMORY = 50;

/**
 * The next state for `candidate`. `outcome` is the result of trusting, validating and applying
 * it, and is needed (only) when gateRevision() said `attempt`.
 */
export function decideRevision(s: Readonly<RevisionState>, candidate: string, outcome: AttemptOutcome | undefined, now: string): RevisionDecision {
  const gate = gateRevision(s, candidate);
  const keep = { ...s, alertedRevisions: [...s.alertedRevisions] };
  const inForce = s.lastAppliedRevision !== undefined ? { inForce: s.lastAppliedRevision } : {};
  if (gate !== 'attempt') return { verdict: gate, state: keep, ...inForce };
  if (!outcome) throw new Error('decideRevision: an attempted revision needs its outcome');
  const attempted: RevisionState = { ...keep, lastAttemptedRevision: candidate, lastAttemptAt: now };
  if (outcome.ok) {
    const failed = s.alertedRevisions.at(-1);
    const next: RevisionState = { ...attempted, lastAppliedRevision: candidate, lastAttemptErrors: [], alertedRevisions: [] };
    delete next.lastAttemptRetry;
    return {
      verdict: 'applied', state: next, inForce: candidate,
      changed: s.lastAppliedRevision !== undefined ? { previous: s.lastAppliedRevision } : {},
      ...(s.alertedRevisions.length > 0 ? { recovered: { revision: candidate, ...(failed !== undefined && failed !== candidate ? { failedRevision: failed } : {}) } } : {}),
    };
  }
  const next: RevisionState = { ...attempted, lastAttemptErrors: [...outcome.errors] };
  if (outcome.retry) next.lastAttemptRetry = true;
  else delete next.lastAttemptRetry;
  const alerted = s.alertedRevisions.includes(candidate);
  if (!alerted) next.alertedRevisions = [...s.alertedRevisions, candidate].slice(-ALERT_MEMORY);
  return {
    verdict: 'refused', state: next, ...inForce,
    ...(alerted ? {} : { alert: { revision: candidate, stage: outcome.stage, errors: [...outcome.errors], ...(s.lastAppliedRevision !== undefined ? { appliedRevision: s.lastAppliedRevision } : {}) } }),
  };
}
