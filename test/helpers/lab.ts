// Access to the running test lab for integration tests. In CI (CI=true) a missing lab is a
// failure, never a silent skip; on a developer machine the test is skipped with the reason.
import type { TestContext } from 'node:test';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLab, type Lab } from '../lab/lab.js';
import { writeLabRepo, type LabRepoOptions } from '../lab/policy-repo.js';

export function labOrSkip(t: TestContext): Lab | undefined {
  const lab = process.getuid?.() === 0 ? loadLab() : undefined;
  if (lab) return lab;
  const why = process.getuid?.() !== 0 ? 'the lab tests need root' : 'no lab is up (run: sudo test/lab/up.sh)';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}`);
  t.skip(why);
  return undefined;
}

export interface LabEnv { lab: Lab; repo: string; stateDir: string; root: string; storageDir: string; cleanup: () => Promise<void> }

/**
 * A scratch policy repo describing the lab, plus a private state dir. With `isolate`, backups go
 * to a subdirectory of the shared lab storage of their own (as both the control host and the
 * namespace hypervisors see it), so a test that prunes or counts backups sees only its own.
 */
export async function labEnv(lab: Lab, o: Partial<LabRepoOptions> & { isolate?: boolean } = {}): Promise<LabEnv> {
  const root = await mkdtemp(join(tmpdir(), 'vmb-lab-'));
  const { isolate, ...rest } = o;
  const sub = isolate ? `envs/${root.split('/').at(-1)}` : '';
  const storageDir = rest.storageRoot ?? (sub ? join(lab.storage.dir, sub) : lab.storage.dir);
  if (sub) await mkdir(storageDir, { recursive: true });
  const repo = await writeLabRepo(join(root, 'repo'), lab, {
    controlDir: join(root, 'ssh'),
    ...(sub ? { storageRoot: storageDir, remoteStorageRoot: join(lab.storage.remoteDir, sub) } : {}),
    ...rest,
  });
  return {
    lab, repo, stateDir: join(root, 'state'), root, storageDir,
    cleanup: async () => { await rm(root, { recursive: true, force: true }); if (sub) await rm(storageDir, { recursive: true, force: true }); },
  };
}
