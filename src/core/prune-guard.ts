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

/** One VM's part of a pass: the points retention would prune, of its recorded points. */
export interface PruneShare { prunes: number; points: number }

/**
 * The pass-wide rule as the daemon applies it after the per-VM one: a VM refused on its own prunes
 * nothing but its points still count; the pass is refused when the rest prunes too large a share of all.
 */
export function passPrunes(vms: readonly PruneShare[], g: PruneGuard): PruneShare & { refused: boolean } {
  let prunes = 0;
  let points = 0;
  for (const v of vms) {
    points += v.points;
    if (v.prunes > 0 && !massPruneRefused(v.prunes, v.points, g)) prunes += v.prunes;
  }
  return { prunes, points, refused: massPruneRefused(prunes, points, g) };
}
