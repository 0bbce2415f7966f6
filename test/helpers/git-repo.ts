// Real git repositories for tests: a bare repo on disk as the remote and a working clone.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface TestRepo { root: string; bare: string; work: string; git: (...args: string[]) => Promise<string>; cleanup: () => Promise<void> }

const IDENTITY = ['-c', 'user.name=Test Engineer', '-c', 'user.email=test@example.invalid', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main'];

/** A bare "origin" and a clone whose first commit holds a copy of `from`, pushed to origin/main. */
export async function makeRepo(from: string): Promise<TestRepo> {
  const root = await mkdtemp(join(tmpdir(), 'vmbackup-test-'));
  const bare = join(root, 'origin.git');
  const work = join(root, 'work');
  await execa('git', [...IDENTITY, 'init', '-q', '--bare', bare]);
  await execa('git', [...IDENTITY, 'clone', '-q', bare, work]);
  const git = async (...args: string[]): Promise<string> => (await execa('git', ['-C', work, ...IDENTITY, ...args])).stdout;
  await cp(from, work, { recursive: true });
  await git('symbolic-ref', 'HEAD', 'refs/heads/main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'initial policy');
  await git('push', '-q', 'origin', 'main');
  return { root, bare, work, git, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/**
 * Writes `files` into the working clone (null removes one), commits everything and pushes; a daemon
 * may push a status commit between our pull and our push, so it rebases and retries. `sign` are
 * git arguments that sign the commit (see signing.ts). Returns the new HEAD.
 */
export async function commitAndPush(r: TestRepo, msg: string, files: Record<string, string | null>, sign: { config: string[]; flag: string[] } = { config: [], flag: [] }): Promise<string> {
  const { mkdir, rm: remove, writeFile } = await import('node:fs/promises');
  await r.git('pull', '-q', '--rebase', 'origin', 'main');
  for (const [p, text] of Object.entries(files)) {
    if (text === null) await remove(join(r.work, p), { force: true });
    else { await mkdir(join(r.work, p, '..'), { recursive: true }); await writeFile(join(r.work, p), text); }
  }
  await r.git('add', '-A');
  await r.git(...sign.config, 'commit', ...sign.flag, '-q', '-m', msg);
  for (let i = 0; ; i++) {
    try { await r.git('push', '-q', 'origin', 'main'); break; } catch (e) { if (i >= 4) throw e; }
    await r.git(...sign.config, 'pull', '-q', '--rebase', 'origin', 'main');
  }
  return (await r.git('rev-parse', 'HEAD')).trim();
}
