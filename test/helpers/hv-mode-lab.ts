// The lab policy with hv1 in hypervisor mode (runs_on: hypervisor, its state_dir on hv1) as a real
// repository with a bare remote: the fixture of the daemon tests that publish to a hypervisor.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeRepo, type TestRepo } from './git-repo.js';
import type { LabEnv } from './lab.js';
import { labPolicy } from '../lab/policy-repo.js';
import type { Lab } from '../lab/lab.js';

/** `more` adds to the base policy (policies, vms); the written policy is returned for later commits. */
export async function hvModeLabRepo(lab: Lab, env: LabEnv, hvState: string, more: Record<string, unknown> = { vms: [] }): Promise<{ repo: TestRepo; policy: Record<string, unknown> }> {
  const base = labPolicy(lab, {
    controlDir: join(env.root, 'ssh'), storageRoot: env.storageDir,
    remoteStorageRoot: join(lab.storage.remoteDir, env.storageDir.slice(lab.storage.dir.length + 1)),
    hostOverrides: { hv1: { runs_on: 'hypervisor', state_dir: hvState } },
  });
  const policy = { ...base, ...more };
  const src = join(env.root, 'seed');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'lab.yaml'), stringify(policy));
  return { repo: await makeRepo(src), policy };
}
