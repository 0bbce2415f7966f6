// Signatures over history, not over one commit: a candidate revision is trusted only if it
// descends from the last applied revision and is itself signed by an allowed key (`tip`, the
// default: the signer attests the whole tree), or, with `all`, if every commit since the applied
// revision that changes policy is signed. An unsigned merge on signed history, or a force-push back
// to an older signed commit, is refused (the latter unless the daemon's own configuration accepts rewrites).
import { execa } from 'execa';
import { verifyCommitSignature, type SignatureOptions } from './checkout.js';

export interface HistoryTrustOptions extends SignatureOptions {
  /** The daemon's own setting (never the repository's): apply a candidate that does not descend from the applied revision. */
  acceptRewrittenHistory?: boolean;
  /** Commits that change nothing outside this directory (the daemon's own status commits) need no signature. */
  statusPath?: string;
  /** At most this many commits are checked in one range; a longer range is refused (default 5,000). */
  maxCommits?: number;
  /** `tip` (default): the candidate must be signed; `all`: every policy commit since the applied revision too. */
  require?: 'tip' | 'all';
}

export type HistoryVerdict =
  | { trusted: true; checked: number; reason: string }
  | { trusted: false; code: 'UNSIGNED_COMMIT' | 'HISTORY_REWRITTEN' | 'RANGE_TOO_LONG'; commit?: string; reason: string };

const git = (dir: string, args: string[]) => execa('git', ['-C', dir, '-c', 'core.hooksPath=/dev/null', ...args], { reject: false, env: { LC_ALL: 'C' } });

/** Does `commit` change anything outside `statusPath` compared with its first parent (a root commit always does)? */
async function changesPolicy(dir: string, commit: string, statusPath: string): Promise<boolean> {
  const parent = await git(dir, ['rev-parse', '--verify', '--quiet', `${commit}^1`]);
  if (parent.exitCode !== 0) return true;
  const d = await git(dir, ['diff', '--quiet', '--no-ext-diff', '--no-textconv', parent.stdout.trim(), commit, '--', '.', `:(exclude)${statusPath}`]);
  return d.exitCode !== 0;
}

/**
 * Whether `candidate` may be applied after `applied` (undefined: nothing applied yet, then only
 * the candidate itself must be signed: trust on first apply).
 */
export async function verifyHistory(dir: string, applied: string | undefined, candidate: string, o: HistoryTrustOptions): Promise<HistoryVerdict> {
  const statusPath = o.statusPath ?? 'status';
  const max = o.maxCommits ?? 5000;
  let commits: string[];
  if (applied === undefined) commits = [candidate];
  else {
    const desc = await git(dir, ['merge-base', '--is-ancestor', applied, candidate]);
    if (desc.exitCode !== 0) {
      if (!o.acceptRewrittenHistory) {
        return { trusted: false, code: 'HISTORY_REWRITTEN', commit: candidate, reason: `commit ${candidate.slice(0, 12)} does not descend from the applied revision ${applied.slice(0, 12)} (force-push or rollback); push a new signed commit on top of it, or start the daemon with --accept-rewritten-history` };
      }
      // Accepted rewrite: the candidate's own history since the fork point must still be signed.
      const base = (await git(dir, ['merge-base', applied, candidate])).stdout.trim();
      applied = base || undefined;
    }
    if (o.require !== 'all') applied = undefined;
    const range = applied === undefined ? [candidate] : [`${applied}..${candidate}`];
    const list = await git(dir, ['rev-list', '--reverse', ...range]);
    if (list.exitCode !== 0) throw new Error(`git rev-list failed in ${dir}: ${list.stderr.trim()}`);
    commits = list.stdout.split('\n').filter(Boolean);
    if (applied === undefined) commits = [candidate];
  }
  if (commits.length > max) return { trusted: false, code: 'RANGE_TOO_LONG', reason: `${commits.length} commits since the applied revision (more than ${max}); apply an intermediate signed revision first` };
  let checked = 0;
  for (const c of commits) {
    // Status-only commits (the daemon's bot) change no policy; the candidate itself is always checked.
    if (c !== candidate && !(await changesPolicy(dir, c, statusPath))) continue;
    const v = await verifyCommitSignature(dir, c, o);
    checked++;
    if (!v.trusted) return { trusted: false, code: 'UNSIGNED_COMMIT', commit: c, reason: `commit ${c.slice(0, 12)} is not trusted: ${v.reason}` };
  }
  return { trusted: true, checked, reason: `${checked} commit(s) since the applied revision signed by allowed keys` };
}
