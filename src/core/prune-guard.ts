// The mass-prune guard's rule in one place: the daemon refuses a pass by it and `plan` warns by it.

export interface PruneGuard {
  /** settings.allow_mass_prune: the repo explicitly allows a large prune. */
  allowMassPrune: boolean;
  /** settings.max_prune_percent / 100. */
  maxPruneShare: number;
}

/** Whether deleting `prunes` of `points` restore points in one pass is refused (one VM's, or the whole pass's). */
export function massPruneRefused(prunes: number, points: number, g: PruneGuard): boolean {
  return !g.allowMassPrune && prunes > 1 && points > 0 && prunes / points > g.maxPruneShare;
}
