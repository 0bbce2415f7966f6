// The commit a working tree is at (recorded in runs made from a working tree).
import { execa } from 'execa';

export async function repoRevision(dir: string): Promise<string | undefined> {
  // One `git rev-parse` per run: execa is loaded anyway; simple-git would add its import to every start-up.
  const r = await execa('git', ['-C', dir, 'rev-parse', '--verify', '-q', 'HEAD'], { reject: false });
  return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
}
