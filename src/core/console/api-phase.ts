// The console's phase labels from the engine's step names (engine/context.ts step()): what an
// operator watching live progress sees, in order: lock, pre-checks, snapshot, copying N%, commit,
// verify, publish, done. Pure; an unknown step keeps the current phase.
export type PhaseLabel = 'lock' | 'pre-checks' | 'snapshot' | 'copying' | 'commit' | 'verify' | 'publish';

export function phaseOfStep(step: string): PhaseLabel | undefined {
  if (step === 'recover-leftovers') return 'lock';
  if (step === 'pre-checks' || step === 'pre-backup-commands' || step === 'backup-kind') return 'pre-checks';
  if (step === 'snapshot') return 'snapshot';
  if (step.startsWith('copy-') || step.startsWith('backup-api-') || step === 'copy-disks') return 'copying';
  if (step === 'blockcommit') return 'commit';
  if (step === 'post-checks' || step === 'verify' || step.startsWith('verify-') || step === 'boot' || step.startsWith('probe')) return 'verify';
  if (step === 'publish' || step === 'define' || step === 'start') return 'publish';
  return undefined;
}

/** Copy progress in whole percent, 0–99 while copying (100 only when the copy is done). */
export function copyPercent(written: number, total: number | undefined): number | undefined {
  if (!total || total <= 0 || !Number.isFinite(written)) return undefined;
  return Math.max(0, Math.min(99, Math.floor((written / total) * 100)));
}
