// Wires an EngineContext for one CLI invocation: the validated policy repo, hosts, storage,
// state store, logger and notifier. Refuses to act on an invalid repo.
import { simpleGit } from 'simple-git';
import { formatDiagnostic, loadPolicyRepo } from '../core/load.js';
import { readPolicyFilesFromDir } from '../adapters/policy-files.js';
import { BackupStore } from '../adapters/storage/backup-store.js';
import { StateStore } from '../adapters/store/state-store.js';
import { createLogger } from '../adapters/logger.js';
import { Hosts } from '../engine/hosts.js';
import { logNotifier, type EngineContext } from '../engine/context.js';

export interface EngineFlags { repo: string; stateDir?: string; logLevel?: string }

export const DEFAULT_STATE_DIR = '/var/lib/vmbackup';

export async function repoRevision(dir: string): Promise<string | undefined> {
  try { return (await simpleGit(dir).revparse(['HEAD'])).trim(); } catch { return undefined; }
}

export async function setupEngine(flags: EngineFlags, env: NodeJS.ProcessEnv = process.env): Promise<EngineContext> {
  const load = loadPolicyRepo(await readPolicyFilesFromDir(flags.repo));
  if (!load.ok) {
    const errors = load.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    throw new Error(`the policy repo ${flags.repo} is invalid; nothing done:\n${errors.join('\n')}`);
  }
  const stateDir = flags.stateDir ?? env.VMBACKUP_STATE_DIR ?? DEFAULT_STATE_DIR;
  const log = createLogger({ ...(flags.logLevel ? { level: flags.logLevel } : {}) });
  const revision = await repoRevision(flags.repo);
  const ctx: EngineContext = {
    desired: load.desired,
    ...(revision ? { revision } : {}),
    hosts: new Hosts(load.desired),
    storage: new BackupStore(load.desired.settings.storageRoot),
    store: await StateStore.open(stateDir),
    stateDir,
    log,
    now: () => new Date(),
    notifier: logNotifier(log),
    ...(process.stderr.isTTY ? { progress: (line: string) => process.stderr.write(`\r\x1b[K${line}`) } : {}),
  };
  return ctx;
}
