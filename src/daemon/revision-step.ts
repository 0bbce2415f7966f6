// The revision step of a reconcile: gate the fetched candidate, and only when the gate says so
// trust its history, validate it and apply it; the pure decideRevision() says what follows.
import type { Logger } from 'pino';
import { formatDiagnostic } from '../core/load.js';
import { decideRevision, gateRevision, type AttemptOutcome, type RevisionDecision, type RevisionState } from '../core/revision/decide.js';
import type { PolicySource } from '../ports/policy-source.js';
import { verifyHistory, type HistoryTrustOptions } from '../adapters/git/trust-history.js';
import { DirectorReloadError } from '../adapters/bacula/director-config.js';
import { applyDesired, type ApplyTargets } from './apply.js';

export interface RevisionStepDeps {
  policy: PolicySource;
  targets: ApplyTargets;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Signature checking (allowed signers from the daemon's own configuration). Absent: no signing required. */
  trust?: HistoryTrustOptions;
}

/** Trust → validate → apply, stopping at the first refusal. */
async function attempt(d: RevisionStepDeps, dir: string, applied: string | undefined, candidate: string, statusPath: string): Promise<AttemptOutcome> {
  if (d.trust) {
    const v = await verifyHistory(dir, applied, candidate, { ...d.trust, statusPath });
    if (!v.trusted) return { ok: false, stage: v.code === 'HISTORY_REWRITTEN' ? 'history' : 'untrusted', errors: [v.reason] };
  }
  const snap = await d.policy.at(candidate);
  if (!snap.load.ok) return { ok: false, stage: 'invalid', errors: snap.load.diagnostics.filter((x) => x.severity === 'error').map(formatDiagnostic) };
  try {
    const out = await applyDesired(snap.load.desired, snap.templates, d.targets, d.env);
    if (out.changed.length) d.log.info({ revision: candidate, files: out.changed, reloaded: out.reloaded }, 'configuration applied');
  } catch (e) {
    return { ok: false, stage: 'apply', errors: [(e as Error).message], ...(e instanceof DirectorReloadError ? { retry: true } : {}) };
  }
  return { ok: true };
}

/** The decision for `candidate`; the attempt runs only when the gate opens. */
export async function revisionStep(d: RevisionStepDeps, dir: string, st: Readonly<RevisionState>, candidate: string, statusPath: string, now: string): Promise<RevisionDecision> {
  const outcome = gateRevision(st, candidate) === 'attempt' ? await attempt(d, dir, st.lastAppliedRevision, candidate, statusPath) : undefined;
  return decideRevision(st, candidate, outcome, now);
}
