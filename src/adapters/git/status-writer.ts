// Commits rendered status files from a bot identity in a worktree of its own (`<repo>.status`,
// branch `vmbackup/status`), so the apply checkout stays exactly `origin/<branch>`. Pushes with
// fetch + rebase + retry, never force: only the bot's own unpushed commits are ever rebased.
import { lstat, mkdir, readFile, realpath, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { appendOnlyCheck } from '../../core/audit/mirror.js';
import { assertStatusFilePaths, checkStatusDir } from '../../core/status-paths.js';

export interface BotIdentity {
  name: string;
  email: string;
  /** ssh private key to sign status commits with (so a signature-checking daemon trusts them). */
  signingKey?: string;
}

export const DEFAULT_BOT: BotIdentity = { name: 'vmbackup-bot', email: 'vmbackup@localhost' };
export const STATUS_BRANCH = 'vmbackup/status';

export interface WriteStatusOptions {
  /** settings.statusPath; default `status`. */
  statusPath?: string;
  /** Remote branch to push to; default the branch checked out in repoDir, else `main`. */
  branch?: string;
  /** Default `<repoDir>.status`. */
  worktreeDir?: string;
  /** Push attempts when the remote moved meanwhile; default 5. */
  maxAttempts?: number;
  /** Test seam: runs before each push attempt (e.g. a human pushes in between). */
  beforePush?: () => Promise<void>;
  /**
   * Files that only ever grow (the audit trail, status/audit/): written when absent or when the
   * checkout's copy is a byte prefix of the new text; any other copy is kept and listed in `diverged`.
   */
  appendOnly?: Map<string, string>;
}

export interface WriteStatusResult {
  /** A new status commit was made by this call. */
  committed: boolean;
  /** This call pushed status commits to the remote. */
  pushed: boolean;
  /** Head of the status branch. */
  commit?: string;
  /** Status commits still waiting for the remote. */
  pending: number;
  error?: string;
  /** appendOnly files whose copy in the repository is not a prefix of the new text: kept, not written. */
  diverged?: string[];
}

type Git = (args: string[], allowFail?: boolean) => Promise<{ ok: boolean; out: string; err: string }>;

function gitIn(dir: string, id: BotIdentity): Git {
  const sign = id.signingKey ? ['-c', 'gpg.format=ssh', '-c', `user.signingKey=${id.signingKey}`, '-c', 'commit.gpgSign=true'] : ['-c', 'commit.gpgSign=false'];
  const env = { GIT_AUTHOR_NAME: id.name, GIT_AUTHOR_EMAIL: id.email, GIT_COMMITTER_NAME: id.name, GIT_COMMITTER_EMAIL: id.email, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' };
  return async (args, allowFail = false) => {
    const r = await execa('git', ['-C', dir, '-c', 'core.hooksPath=/dev/null', '-c', 'rebase.autoStash=false', ...sign, ...args], { reject: false, env, stdin: 'ignore' });
    const res = { ok: r.exitCode === 0, out: r.stdout.trim(), err: r.stderr.trim() };
    if (!res.ok && !allowFail) throw new Error(`git ${args[0]} failed: ${res.err || res.out}`);
    return res;
  };
}

async function fetchBranch(git: Git, branch: string): Promise<string | undefined> {
  const r = await git(['fetch', '--no-tags', '--no-recurse-submodules', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`], true);
  return r.ok ? undefined : `remote unreachable: ${r.err.split('\n').slice(-2).join(' ')}`;
}

/** Reuses the status worktree, or (re)creates it keeping any unpushed status commits on its branch. */
async function ensureWorktree(repo: Git, repoDir: string, wt: string, branch: string): Promise<void> {
  const here = await execa('git', ['-C', wt, 'rev-parse', '--git-common-dir', '--abbrev-ref', 'HEAD'], { reject: false });
  const [common, head] = here.stdout.split('\n');
  const real = (p: string): Promise<string> => realpath(p).catch(() => p);
  if (here.exitCode === 0 && common && (await real(resolve(wt, common))) === (await real(join(repoDir, '.git'))) && head === STATUS_BRANCH) return;
  await rm(wt, { recursive: true, force: true });
  await repo(['worktree', 'prune']);
  const hasBranch = (await repo(['rev-parse', '--verify', '--quiet', `refs/heads/${STATUS_BRANCH}`], true)).ok;
  await repo(['worktree', 'add', '--quiet', ...(hasBranch ? [wt, STATUS_BRANCH] : ['-b', STATUS_BRANCH, wt, `refs/remotes/origin/${branch}`])]);
}

/**
 * Puts the bot's unpushed commits on top of origin. They are dropped instead (the write that
 * follows re-creates the full status) when they conflict, or when anything not authored by the
 * bot is among them: after a force-push, replaying would resurrect commits a human removed.
 */
async function rebaseOnto(git: Git, origin: string, botEmail: string): Promise<void> {
  const authors = (await git(['log', '--format=%ae', `${origin}..HEAD`])).out.split('\n').filter(Boolean);
  if (authors.every((a) => a === botEmail) && (await git(['rebase', '--quiet', '-X', 'theirs', origin], true)).ok) return;
  await git(['rebase', '--abort'], true);
  await git(['reset', '--quiet', '--hard', origin]);
}

/** Refuses to follow a symlink out of the status directory (a human could commit one). */
async function safeTarget(wt: string, rel: string): Promise<string> {
  const segs = rel.split('/');
  for (let i = 1; i < segs.length; i++) {
    const st = await lstat(join(wt, ...segs.slice(0, i))).catch(() => undefined);
    if (st && !st.isDirectory()) throw new Error(`refusing to write ${rel}: ${segs.slice(0, i).join('/')} is not a plain directory`);
  }
  const target = join(wt, ...segs);
  const st = await lstat(target).catch(() => undefined);
  if (st?.isSymbolicLink()) await unlink(target);
  return target;
}

async function writeFiles(wt: string, files: Map<string, string>, deletions: string[]): Promise<void> {
  for (const [rel, content] of files) {
    const target = await safeTarget(wt, rel);
    if ((await readFile(target, 'utf8').catch(() => undefined)) === content) continue;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  for (const rel of deletions) await rm(await safeTarget(wt, rel), { force: true });
}

/** A file's bytes at `ref` (exactly, no newline trimmed), or undefined when it has none. */
async function blobAt(wt: string, ref: string, rel: string): Promise<Uint8Array | undefined> {
  const r = await execa('git', ['-C', wt, 'cat-file', 'blob', `${ref}:${rel}`], { reject: false, encoding: 'buffer', stripFinalNewline: false, stdin: 'ignore' });
  return r.exitCode === 0 ? r.stdout : undefined;
}

/**
 * appendOnly files: written only over a prefix of themselves; returns the ones kept because they
 * diverged. With unpushed status commits (`origin` given), the remote's copy is checked too: a
 * replayed bot commit must not carry the file over an edit made meanwhile, which is put back.
 */
async function writeAppendOnly(wt: string, files: Map<string, string>, origin?: string): Promise<string[]> {
  const diverged: string[] = [];
  for (const [rel, content] of files) {
    const target = await safeTarget(wt, rel);
    const next = Buffer.from(content);
    const remote = origin ? await blobAt(wt, origin, rel) : undefined;
    if (remote && appendOnlyCheck(remote, next) === 'diverged') {
      diverged.push(rel);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, remote);
      continue;
    }
    const check = appendOnlyCheck(await readFile(target).catch(() => undefined), next);
    if (check === 'diverged') diverged.push(rel);
    if (check !== 'write') continue;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, next);
  }
  return diverged;
}

/** Stages only the status directory and commits if that changed anything. */
async function commitIfChanged(git: Git, statusPath: string, message: string): Promise<boolean> {
  await git(['add', '--all', '--force', '--', statusPath]); // --force: a .gitignore must not hide status files
  const staged = (await git(['diff', '--cached', '--name-only', '-z'])).out.split('\0').filter(Boolean);
  if (!staged.length) return false;
  assertStatusFilePaths(staged, statusPath);
  await git(['commit', '--quiet', '--no-verify', '-m', message]);
  return true;
}

async function aheadOf(git: Git, origin: string): Promise<number> {
  const has = (await git(['rev-parse', '--verify', '--quiet', origin], true)).ok;
  return Number((await git(['rev-list', '--count', has ? `${origin}..HEAD` : 'HEAD'])).out);
}

export async function writeStatus(
  repoDir: string,
  files: Map<string, string> | Record<string, string>,
  deletions: string[],
  message: string,
  identity: Partial<BotIdentity> = {},
  opts: WriteStatusOptions = {},
): Promise<WriteStatusResult> {
  const statusPath = checkStatusDir(opts.statusPath ?? 'status');
  const fileMap = files instanceof Map ? files : new Map(Object.entries(files));
  const appendOnly = opts.appendOnly ?? new Map<string, string>();
  assertStatusFilePaths([...fileMap.keys(), ...deletions, ...appendOnly.keys()], statusPath);
  const bot = { ...DEFAULT_BOT, ...identity };
  const repo = gitIn(repoDir, bot);
  const branch = opts.branch ?? ((await repo(['symbolic-ref', '--quiet', '--short', 'HEAD'], true)).out || 'main');
  if (!/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+$/.test(branch)) throw new Error(`invalid branch name ${JSON.stringify(branch)}`);
  const origin = `refs/remotes/origin/${branch}`;
  const wt = resolve(opts.worktreeDir ?? `${resolve(repoDir)}.status`);
  let fetchError = await fetchBranch(repo, branch);
  await ensureWorktree(repo, resolve(repoDir), wt, branch);
  const git = gitIn(wt, bot);
  // Leftovers of a crash (a half rebase, stray files) are discarded; committed status is kept.
  await git(['rebase', '--abort'], true);
  await git(['reset', '--quiet', '--hard', 'HEAD']);
  await git(['clean', '-ffdxq']);
  let committed = false;
  const attempts = opts.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    if (!fetchError) await rebaseOnto(git, origin, bot.email);
    await writeFiles(wt, fileMap, deletions);
    // Only with unpushed status commits can the checkout's copy differ from the remote's.
    const unpushed = !fetchError && appendOnly.size > 0 && (await aheadOf(git, origin)) > 0;
    const diverged = await writeAppendOnly(wt, appendOnly, unpushed ? origin : undefined);
    committed = (await commitIfChanged(git, statusPath, message)) || committed;
    const head = (await git(['rev-parse', 'HEAD'])).out;
    const pending = await aheadOf(git, origin);
    const base = { committed, commit: head, pending, ...(diverged.length ? { diverged } : {}) };
    if (!pending) return { ...base, pushed: false };
    if (fetchError) return { ...base, pushed: false, error: fetchError };
    await opts.beforePush?.();
    const push = await git(['push', '--quiet', '--porcelain', 'origin', `HEAD:refs/heads/${branch}`], true);
    if (push.ok) {
      await git(['update-ref', origin, head]);
      return { ...base, pushed: true, pending: 0 };
    }
    // Only a non-fast-forward rejection is worth a rebase; a protected branch or a denied push is not.
    if (!/\[rejected\]/.test(push.out)) return { ...base, pushed: false, error: `push failed: ${push.err || push.out}` };
    fetchError = await fetchBranch(git, branch);
    if (fetchError) return { ...base, pushed: false, error: fetchError };
    if (attempt >= attempts) return { ...base, pushed: false, error: `push rejected ${attempts} times: ${push.err || push.out}` };
  }
}

/** Status files known on either side (origin and unpushed status commits): what `renderStatusFiles` may delete. */
export async function listStatusFiles(repoDir: string, statusPath = 'status', branch = 'main'): Promise<string[]> {
  checkStatusDir(statusPath);
  const repo = gitIn(repoDir, DEFAULT_BOT);
  const out = new Set<string>();
  for (const ref of [`refs/remotes/origin/${branch}`, `refs/heads/${STATUS_BRANCH}`]) {
    const r = await repo(['ls-tree', '-r', '-z', '--name-only', '--full-tree', ref, '--', statusPath], true);
    if (r.ok) for (const p of r.out.split('\0')) if (p) out.add(p);
  }
  return [...out].sort();
}
