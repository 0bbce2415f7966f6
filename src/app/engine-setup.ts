// Wires an EngineContext for one CLI invocation: the policy in force (the daemon's applied
// revision where a daemon runs, see acting-policy.ts), hosts, storage, state store, logger and
// notifier. Refuses to act on an invalid policy.
import { onHypervisor } from '../core/hypervisor-mode/on-hypervisor.js';
import { formatDiagnostic } from '../core/load.js';
import { BackupStore } from '../adapters/storage/backup-store.js';
import { StateStore } from '../adapters/store/state-store.js';
import { createLogger } from '../adapters/logger.js';
import { runLogTap } from '../adapters/store/run-logs.js';
import { Hosts } from '../engine/hosts.js';
import type { EngineContext } from '../engine/context.js';
import { createNotifier } from '../adapters/notify/notifier.js';
import { loadNotifyTemplates } from '../adapters/notify/templates.js';
import { previousRunFrom, stateStoreDedup } from '../adapters/notify/state.js';
import { actingPolicy, daemonStateDirOf } from './acting-policy.js';

export interface EngineFlags {
  repo?: string; stateDir?: string; logLevel?: string;
  /** Run as hypervisor NAME's own vmbackup (runs_on: hypervisor, started by its bacula-fd): local transport, its storage mount. */
  onHypervisor?: string;
}

export const DEFAULT_STATE_DIR = '/var/lib/vmbackup';

export async function setupEngine(flags: EngineFlags, env: NodeJS.ProcessEnv = process.env): Promise<EngineContext> {
  const stateDir = flags.stateDir ?? env.VMBACKUP_STATE_DIR ?? (flags.repo !== undefined ? daemonStateDirOf(flags.repo) : undefined) ?? DEFAULT_STATE_DIR;
  const store = await StateStore.open(stateDir);
  const policy = await actingPolicy({ ...(flags.repo !== undefined ? { repo: flags.repo } : {}), stateDir, store });
  const { load, revision } = policy.snapshot;
  if (!load.ok) {
    const errors = load.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    throw new Error(`the policy (${policy.source !== 'working-tree' ? `${policy.source} revision ${revision?.slice(0, 12)}` : `working tree ${policy.repoDir}`}) is invalid; nothing done:\n${errors.join('\n')}`);
  }
  let desired = load.desired;
  if (flags.onHypervisor !== undefined) {
    const here = onHypervisor(desired, flags.onHypervisor);
    if ('error' in here) throw new Error(here.error);
    desired = here.desired;
  }
  const log = createLogger({ ...(flags.logLevel ? { level: flags.logLevel } : {}), tap: runLogTap(stateDir) });
  if (policy.note) log.warn({ revision, source: policy.source }, policy.note);
  // Bacula starts one `vmbackup backup` per VM: dedup and recovery detection go through the shared state file.
  const notifier = await createNotifier({ notifications: desired.settings.notifications, timeZone: desired.settings.timeZone, log, templates: await loadNotifyTemplates(policy.snapshot.templateFiles), env, dedup: stateStoreDedup(store), previousRun: previousRunFrom(store) });
  const ctx: EngineContext = {
    desired,
    ...(revision ? { revision } : {}),
    hosts: new Hosts(desired),
    storage: new BackupStore(desired.settings.storageRoot),
    store,
    stateDir,
    log,
    now: () => new Date(),
    notifier,
    ...(process.stderr.isTTY ? { progress: (line: string) => process.stderr.write(`\r\x1b[K${line}`) } : {}),
  };
  return ctx;
}
