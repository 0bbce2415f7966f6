// The daemon's own clone of the policy repo (`<stateDir>/repo`): fetched and hard-reset to
// `origin/<branch>` before every apply, so only committed, pushed content is ever applied.
import { mkdir, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { isAbsolute, join, resolve } from 'node:path';
import { simpleGit } from 'simple-git';

export interface CheckoutOptions {
  /** Policy repo URL (`https://…`, `ssh://…`, `git@host:path`) or local path. */
  source: string;
  stateDir: string;
  /** Default `main`. */
  branch?: string;
  /** Default `<stateDir>/repo`. */
  dir?: string;
}

export interface CheckoutResult {
  dir: string;
  branch: string;
  /** The commit now checked out: the tip of `origin/<branch>` as last fetched. */
  commit: string;
  cloned: boolean;
  /** False when the fetch failed: the checkout was still reset to the last fetched commit. */
  fetched: boolean;
  fetchError?: string;
}

const BRANCH_RE = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+$/;

/** A git URL (`https://…`, `ssh://…`, `file://…`, scp-style `git@host:path`), not a local path. */
export function isRemoteSource(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^[^/]+@[^/:]+:/.test(source);
}

/** Local paths are made absolute (git resolves relative ones against its cwd); URLs pass through. */
function normaliseSource(source: string): string {
  if (isRemoteSource(source)) return source;
  return isAbsolute(source) ? source : resolve(source);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Clone if needed, fetch, then make the working tree exactly `origin/<branch>` (local edits and untracked files are discarded). */
export async function syncCheckout(opts: CheckoutOptions): Promise<CheckoutResult> {
  const branch = opts.branch ?? 'main';
  if (!BRANCH_RE.test(branch)) throw new Error(`invalid branch name ${JSON.stringify(branch)}`);
  const dir = resolve(opts.dir ?? join(opts.stateDir, 'repo'));
  const source = normaliseSource(opts.source);
  let cloned = false;
  if (!(await exists(join(dir, '.git')))) {
    await mkdir(dir, { recursive: true });
    await simpleGit().clone(source, dir, ['--no-checkout', '--origin', 'origin', '--no-tags']);
    cloned = true;
  }
  const git = simpleGit(dir);
  const url = (await git.remote(['get-url', 'origin']).catch(() => ''))?.trim();
  if (!url) await git.addRemote('origin', source);
  else if (url !== source) await git.remote(['set-url', 'origin', source]);
  let fetched = true;
  let fetchError: string | undefined;
  try {
    await git.raw(['fetch', '--prune', '--no-tags', '--no-recurse-submodules', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
  } catch (e) {
    fetched = false;
    fetchError = (e as Error).message.trim();
  }
  const target = `refs/remotes/origin/${branch}`;
  const commit = await git.revparse(['--verify', '--quiet', `${target}^{commit}`]).then((s) => s.trim(), () => '');
  if (!commit) throw new Error(`cannot check out ${branch} of ${source}: ${fetchError ?? `no branch ${branch} on the remote`}`);
  await git.raw(['checkout', '--force', '-B', branch, commit]);
  await git.raw(['reset', '--hard', commit]);
  await git.raw(['clean', '-ffdx']);
  return { dir, branch, commit, cloned, fetched, ...(fetchError ? { fetchError } : {}) };
}

/** The commit checked out in `dir`. */
export async function headCommit(dir: string): Promise<string> {
  return (await simpleGit(dir).revparse(['--verify', 'HEAD^{commit}'])).trim();
}


export interface SignatureOptions {
  /** ssh `allowed_signers` file (from the daemon's own config, never from the repo). */
  allowedSignersFile?: string;
  /** A GnuPG home directory holding exactly the allowed public keys. */
  gpgKeyring?: string;
}

export interface SignatureCheck {
  commit: string;
  trusted: boolean;
  kind: 'ssh' | 'gpg' | 'x509' | 'none';
  /** git's `%G?`: G good, U good but unknown key, B bad, N none, E cannot check, X/Y expired, R revoked. */
  status: string;
  signer?: string;
  key?: string;
  reason: string;
}

const GIT_STATUS_TEXT: Record<string, string> = {
  B: 'bad signature', E: 'signature cannot be checked (key not in the keyring)', X: 'signature has expired',
  Y: 'signed with an expired key', R: 'signed with a revoked key', N: 'no signature',
};

/** Which kind of signature the raw commit object carries (decides which trust store applies). */
function signatureKind(rawCommit: string): SignatureCheck['kind'] {
  const header = rawCommit.slice(0, rawCommit.indexOf('\n\n') + 1);
  if (!/^gpgsig /m.test(header)) return 'none';
  if (header.includes('BEGIN SSH SIGNATURE')) return 'ssh';
  if (header.includes('BEGIN PGP SIGNATURE')) return 'gpg';
  return 'x509';
}

/** Is `commit` signed by a key the daemon trusts? Uses git's own `verify-commit`; trust stores come only from `opts`. */
export async function verifyCommitSignature(repoDir: string, commit: string, opts: SignatureOptions = {}): Promise<SignatureCheck> {
  const run = (args: string[], env: Record<string, string> = {}) =>
    execa('git', ['-C', repoDir, '-c', `gpg.ssh.allowedSignersFile=${opts.allowedSignersFile ?? '/dev/null'}`, ...args], { reject: false, env: { LC_ALL: 'C', ...env } });
  const resolved = await run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${commit}^{commit}`]);
  if (resolved.exitCode !== 0) throw new Error(`unknown commit ${JSON.stringify(commit)} in ${repoDir}`);
  const id = resolved.stdout.trim();
  const kind = signatureKind((await run(['cat-file', 'commit', id])).stdout);
  const base = { commit: id, kind };
  if (kind === 'none') return { ...base, trusted: false, status: 'N', reason: `commit ${id.slice(0, 12)} is not signed` };
  if (kind === 'x509') return { ...base, trusted: false, status: 'E', reason: 'x509 signatures are not supported' };
  if (kind === 'ssh' && !opts.allowedSignersFile) return { ...base, trusted: false, status: 'E', reason: 'ssh-signed, but no allowed signers file is configured' };
  if (kind === 'gpg' && !opts.gpgKeyring) return { ...base, trusted: false, status: 'E', reason: 'gpg-signed, but no gpg keyring is configured' };
  const env: Record<string, string> = opts.gpgKeyring ? { GNUPGHOME: opts.gpgKeyring } : {};
  // %GT is left out on purpose: git 2.39 aborts on it when the key is missing.
  const info = (await run(['log', '-1', '--format=%G?%n%GK%n%GS', id], env)).stdout.split('\n');
  const status = info[0]?.trim() || 'E';
  const key = info[1]?.trim() || undefined;
  const signer = info[2]?.trim() || undefined;
  const verified = (await run(['verify-commit', id], env)).exitCode === 0;
  const who = { ...(signer ? { signer } : {}), ...(key ? { key } : {}) };
  // For gpg the keyring is the allow-list, so "good signature, unknown owner trust" (U) counts.
  if (verified && (status === 'G' || (status === 'U' && kind === 'gpg'))) {
    return { ...base, ...who, trusted: true, status, reason: `signed by ${signer ?? key ?? 'an allowed key'}` };
  }
  const why = status === 'U' || status === 'G' ? `signed with ${key ?? 'a key'} which is not an allowed signer` : GIT_STATUS_TEXT[status] ?? `signature status ${status}`;
  return { ...base, ...who, trusted: false, status, reason: why };
}
