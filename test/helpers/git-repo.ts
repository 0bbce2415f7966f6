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
