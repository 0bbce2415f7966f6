// Wires an EngineContext for one CLI invocation: the validated policy repo, hosts, storage,
// state store, logger and notifier. Refuses to act on an invalid repo.
import { execa } from 'execa';
import { formatDiagnostic, loadPolicyRepo } from '../core/load.js';
import { readPolicyFilesFromDir } from '../adapters/policy-files.js';
import { BackupStore } from '../adapters/storage/backup-store.js';
import { StateStore } from '../adapters/store/state-store.js';
import { createLogger } from '../adapters/logger.js';
import { Hosts } from '../engine/hosts.js';
import type { EngineContext } from '../engine/context.js';
import { createNotifier } from '../adapters/notify/notifier.js';
import { previousRunFrom, stateStoreDedup } from '../adapters/notify/state.js';

export interface EngineFlags { repo: string; stateDir?: string; logLevel?: string }

export const DEFAULT_STATE_DIR = '/var/lib/vmbackup';

export async function repoRevision(dir: string): Promise<string | undefined> {
  // One `git rev-parse` per backup: execa is loaded anyway; simple-git would add its import to every start-up.
  const r = await execa('git', ['-C', dir, 'rev-parse', '--verify', '-q', 'HEAD'], { reject: false });
  return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
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
  const store = await StateStore.open(stateDir);
  // Bacula starts one `vmbackup backup` per VM: dedup and recovery detection go through the shared state file.
  const notifier = await createNotifier({ notifications: load.desired.settings.notifications, timeZone: load.desired.settings.timeZone, log, repoDir: flags.repo, env, dedup: stateStoreDedup(store), previousRun: previousRunFrom(store) });
  const ctx: EngineContext = {
    desired: load.desired,
    ...(revision ? { revision } : {}),
    hosts: new Hosts(load.desired),
    storage: new BackupStore(load.desired.settings.storageRoot),
    store,
    stateDir,
    log,
    now: () => new Date(),
    notifier,
    ...(process.stderr.isTTY ? { progress: (line: string) => process.stderr.write(`\r\x1b[K${line}`) } : {}),
  };
  return ctx;
}
