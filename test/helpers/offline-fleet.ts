// A one-file policy repo (real git, bare remote) whose hypervisors are loopback ports where no ssh
// answers: for daemon tests about status, audit and metrics that need no VM to exist.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRepo, type TestRepo } from './git-repo.js';
import { freePort } from './bacula.js';

export interface OfflineFleetOptions {
  /** Extra lines under `settings:` (already indented by two spaces). */
  settings?: string[];
  /** Hypervisor names (default one, `hv-gone`), each on its own free port unless given one. */
  hypervisors?: (string | { name: string; port: number })[];
  /** VM names on the first hypervisor (default `app-01`), weekly, keep_last 3. */
  vms?: string[];
  connectTimeoutSeconds?: number;
}

export async function offlineFleetRepo(root: string, o: OfflineFleetOptions = {}): Promise<{ repo: TestRepo; storage: string }> {
  const storage = join(root, 'storage');
  await mkdir(storage, { recursive: true });
  const src = join(root, 'seed');
  await mkdir(src, { recursive: true });
  const hvs = await Promise.all((o.hypervisors ?? ['hv-gone']).map(async (h) => (typeof h === 'string' ? { name: h, port: await freePort() } : h)));
  await writeFile(join(src, 'fleet.yaml'), [
    'settings:',
    `  storage_root: ${storage}`,
    '  scheduler: cron',
    ...(o.settings ?? []),
    `  ssh: { control_dir: ${join(root, 'ssh')}, connect_timeout_seconds: ${o.connectTimeoutSeconds ?? 2} }`,
    'hypervisors:',
    ...hvs.map((h) => `  - { name: ${h.name}, address: 127.0.0.1, ssh: { user: root, port: ${h.port} }, storage_root: ${storage} }`),
    'vms:',
    ...(o.vms ?? ['app-01']).map((v) => `  - { name: ${v}, hypervisor: ${hvs[0]!.name}, schedule: weekly, retention: { keep_last: 3 } }`),
    '',
  ].join('\n'));
  return { repo: await makeRepo(src), storage };
}
