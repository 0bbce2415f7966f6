// `vmbackup daemon`: triggers (poll, chokidar on a local source, POST /hooks/git, SIGHUP) feed a
// single-flight reconciler; SIGTERM stops taking work, lets the running cycle finish (a backup
// in progress completes or is cleaned up), saves state and exits 0.
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { watch } from 'chokidar';
import type { Logger } from 'pino';
import { Bconsole } from '../adapters/bacula/bconsole.js';
import { alive } from '../adapters/lock.js';
import { buildHttpApp } from '../adapters/http/app.js';
import { listen } from '../adapters/http/listen.js';
import { MetricsRegistry } from '../adapters/http/metrics-registry.js';
import { processMetrics } from '../adapters/http/process-metrics.js';
import { reportPrunes, type PruneAlerts } from './prune-visibility.js';
import { InterruptedAlerts } from './interrupted-alerts.js';
import { createSdNotifier } from '../adapters/http/sd-notify.js';
import { StateStore } from '../adapters/store/state-store.js';
import { VERSION } from '../version.js';
import { secretLookup } from './apply.js';
import { Coalescer } from './coalesce.js';
import { runCycle, type DaemonNotifier } from './cycle.js';
import { readDaemonState } from './daemon-state.js';
import { gitHookRoutes } from './git-hook.js';
import { readinessOf } from './readiness.js';
import { scheduleDigest, type DigestSchedule } from '../adapters/notify/digest-schedule.js';
import type { FleetSummary, VmStatus } from '../core/status-model.js';
import type { DesiredState } from '../core/model.js';
import { Hosts } from '../engine/hosts.js';
import { GitPolicySource } from '../adapters/git/git-policy-source.js';
import { isRemoteSource } from '../adapters/git/checkout.js';
import { defaultVault } from '../adapters/secrets/default-vault.js';
import { combineListeners } from '../adapters/console/combine.js';
import { recordStorageSample, startConsole } from './console-wiring.js';
import { Gates } from './gates.js';

export interface DaemonOptions {
  source: string;
  stateDir: string;
  branch: string;
  pollSec: number;
  /** HTTP listener and its limits (src/adapters/http/listen.ts ListenOptions). */
  listen?: { host: string; port: number; maxConnections?: number; headersTimeoutMs?: number; requestTimeoutMs?: number };
  /** POST /hooks/git body cap in bytes (default 64 KiB). */
  webhookMaxBodyBytes?: number;
  baculaConfigDir: string;
  bconsoleConfig?: string;
  /** Write cron.d here directly (a daemon running as root); absent: staged in <state-dir>/schedule. */
  cronFile?: string;
  allowedSigners?: string;
  gpgKeyring?: string;
  /** With signing: apply a signed revision that does not descend from the applied one. */
  acceptRewrittenHistory?: boolean;
  /** With signing: every policy commit since the applied revision must be signed, not only the new revision. */
  requireSignedHistory?: boolean;
  push: boolean;
  once: boolean;
  stopTimeoutSec: number;
  /** The console API's tokens file (hashes; src/adapters/console/auth.ts); absent: the API answers 401. */
  apiTokensFile?: string;
  /** Server-Sent Events streams open at once (default 16). */
  apiMaxEventStreams?: number;
}

/** A trigger's metric label: `webhook 1a2b…` → webhook, `local change` → local_change, SIGHUP → sighup. */
export const triggerReason = (r: string): string => r.split(' ')[0] === 'webhook' ? 'webhook' : r.toLowerCase().replace(/ /g, '_');

export async function runDaemon(o: DaemonOptions, log: Logger, makeNotifier: (store: StateStore) => DaemonNotifier, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const store = await StateStore.open(o.stateDir);
  const notifier = makeNotifier(store);
  const interrupted = await store.markInterrupted(alive, new Date().toISOString());
  for (const r of interrupted) log.warn({ run: r.id, vm: r.vm, kind: r.kind }, 'run was interrupted by a restart; its leftovers are cleaned on the next reconcile');
  const interruptedAlerts = new InterruptedAlerts(interrupted);
  const metrics = new MetricsRegistry({ version: VERSION });
  const history = await store.runs();
  metrics.restoreFromHistory(history);
  const counted = new Set(history.map((r) => r.id));
  const sd = createSdNotifier({ env });
  // One PolicySource for the daemon's checkout: the policy of a revision is read and parsed once.
  const policy = new GitPolicySource(join(o.stateDir, 'repo'));
  let stopping = false;
  let firstDone = false;
  let last: { summary: FleetSummary; statuses: VmStatus[]; hosts?: Record<string, boolean>; timeZone?: string } | undefined;
  // One set of concurrency slots for the plan and the console's ad-hoc queue.
  const gates = new Gates();
  let digest: { key: string; timer: DigestSchedule } | undefined;
  let seenHead: string | undefined;
  // One set of hypervisor connections per applied revision, reused by every cycle until it changes.
  let hosts: { revision: string; hosts: Hosts } | undefined;
  let consoleParts: Awaited<ReturnType<typeof startConsole>> | undefined; // the console (API, queue), once listening
  let storageRoot: string | undefined; // settings.storage_root of the revision in force, for the storage_* metrics
  const hostsFor = async (revision: string, desired: DesiredState): Promise<Hosts> => {
    if (hosts?.revision === revision) return hosts.hosts;
    // The fleet of a newly applied revision gets its series (counters at 0) before any backup runs.
    metrics.setVms(desired.vms.map((v) => ({ name: v.name, hypervisor: v.hypervisor, ...(v.policy ? { policy: v.policy } : {}) })));
    storageRoot = desired.settings.storageRoot;
    // A console action still running on the old connections keeps them until it ends.
    const old = hosts?.hosts;
    if (old && consoleParts?.queue.busy()) void consoleParts.queue.idle().then(() => old.closeAll());
    else await old?.closeAll();
    hosts = { revision, hosts: new Hosts(desired) };
    return hosts.hosts;
  };
  const keepDigest = (schedule: string | undefined, timeZone: string | undefined): void => {
    const key = `${schedule ?? ''}|${timeZone ?? ''}`;
    if (!schedule || digest?.key === key || o.once) return;
    digest?.timer.stop();
    digest = { key, timer: scheduleDigest({ schedule, ...(timeZone ? { timeZone } : {}), log, run: async () => { if (last) await notifier.digest?.(last.summary, last.statuses); } }) };
  };
  // `--once`: whether that one reconcile failed, was refused, or had a failed action (exit 1).
  let onceFailed = false;
  const cycle = async (reasons: string[]): Promise<void> => {
    if (stopping) return;
    log.info({ reasons }, 'reconcile');
    for (const reason of new Set(reasons.map(triggerReason))) metrics.recordTrigger(reason);
    try {
      const r = await runCycle({
        source: o.source, branch: o.branch, stateDir: o.stateDir, store, log, now: () => new Date(), env, notifier,
        targets: { baculaConfigDir: o.baculaConfigDir, ...(o.cronFile ? { cronFile: o.cronFile } : {}), scheduleDir: join(o.stateDir, 'schedule'), ...(o.bconsoleConfig ? { bconsole: new Bconsole(o.bconsoleConfig) } : {}) },
        policy, scrub: defaultVault.scrub,
        ...(o.allowedSigners || o.gpgKeyring ? { trust: { ...(o.allowedSigners ? { allowedSignersFile: o.allowedSigners } : {}), ...(o.gpgKeyring ? { gpgKeyring: o.gpgKeyring } : {}), ...(o.acceptRewrittenHistory ? { acceptRewrittenHistory: true } : {}), ...(o.requireSignedHistory ? { require: 'all' as const } : {}) } } : {}),
        pushStatus: o.push, stopping: () => stopping, hostsFor, gates,
        onApplied: (rev) => metrics.setRevision(rev),
        ...(seenHead && reasons.every((x) => x === 'local change' || x.startsWith('webhook')) ? { seenHead } : {}),
      });
      seenHead = r.head;
      onceFailed = r.errors.length > 0 || r.results.some((x) => !x.ok) || !r.appliedRevision;
      if (r.skipped) return;
      if (r.summary && r.statuses) {
        last = { summary: r.summary, statuses: r.statuses, ...(r.hosts ? { hosts: r.hosts } : {}), ...(r.timeZone ? { timeZone: r.timeZone } : {}) };
        await recordStorageSample(store, last, new Date().toISOString().slice(0, 10)).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'storage sample not recorded'));
      }
      if (r.statuses) metrics.observeFleet(r.statuses, r.hosts);
      keepDigest(r.digestSchedule, r.timeZone);
      metrics.setStalled(r.errors.length > 0);
      metrics.recordReconcile(r.ms, r.results.every((x) => x.ok));
      await reportPrunes(r.results, r.appliedRevision ?? r.revision ?? '', metrics, notifier as PruneAlerts);
      if (r.appliedRevision) await interruptedAlerts.flush(notifier);
      for (const run of await store.runs()) {
        if (run.status === 'running' || counted.has(run.id)) continue;
        counted.add(run.id);
        metrics.recordBackup(run);
      }
      firstDone = true;
      log.info({ reasons, revision: r.revision, applied: r.applied, actions: r.results.length, failed: r.results.filter((x) => !x.ok).length, statusCommit: r.statusCommit, ms: Math.round(r.ms) }, 'reconcile done');
    } catch (e) {
      seenHead = undefined; // a failed pass has not reconciled anything: the next trigger must
      onceFailed = true;
      metrics.recordReconcile(0, false);
      log.error({ err: (e as Error).message }, 'reconcile failed; retrying on the next trigger');
    }
  };
  const co = new Coalescer(cycle);
  if (o.once) { await co.request('once'); await hosts?.hosts.closeAll(); return onceFailed ? 1 : 0; }

  const secret = secretLookup(env)({ env: 'VMBACKUP_WEBHOOK_SECRET' }) ?? secretLookup(env)({ credential: 'webhook-hmac-secret' }); // through the vault: scrubbed everywhere
  // Storage use is state: read at scrape time, so it is current between reconciles.
  metrics.onCollect(async () => {
    if (!storageRoot) return;
    const s = await statfs(storageRoot);
    if (s.blocks > 0) metrics.setStorage({ usedBytes: (s.blocks - s.bavail) * s.bsize, totalBytes: s.blocks * s.bsize });
  });
  metrics.addFamilies(processMetrics());
  const app = buildHttpApp({
    // A stable code only, never the errors' text (src/daemon/readiness.ts).
    readiness: () => readinessOf({ firstDone, ...readDaemonState(store) }),
    metrics: { render: () => metrics.scrape() },
    ...gitHookRoutes(secret, (reason) => { void co.request(reason); }),
    ...(o.webhookMaxBodyBytes ? { maxBodyBytes: o.webhookMaxBodyBytes } : {}),
    log,
  });
  consoleParts = o.listen ? await startConsole({
    store, stateDir: o.stateDir, log, notifier, policy, hostsFor, gates, last: () => last, scrub: defaultVault.scrub, recordAdhoc: (k, r) => metrics.recordAdhoc(k, r),
    // A pause or resume is reconciled at once: status, metrics and runs_on: hypervisor hosts see it now.
    onPauseChange: () => { void co.request('pause'); },
    ...(o.bconsoleConfig ? { bconsole: new Bconsole(o.bconsoleConfig) } : {}), ...(o.apiTokensFile ? { tokensFile: o.apiTokensFile } : {}), ...(o.apiMaxEventStreams ? { maxEventStreams: o.apiMaxEventStreams } : {}),
  }) : undefined;
  const server = o.listen ? await listen(consoleParts ? combineListeners(app, consoleParts.app) : app, o.listen) : undefined;
  if (server) log.info({ url: server.url }, 'http listening');
  const timer = setInterval(() => { void co.request('poll'); }, o.pollSec * 1000);
  const local = !isRemoteSource(o.source);
  const refs = local ? [join(o.source, '.git', 'refs', 'heads'), join(o.source, 'refs', 'heads')].find((p) => existsSync(p)) : undefined;
  const watcher = refs ? watch(refs, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 50 } }) : undefined;
  watcher?.on('all', () => { void co.request('local change'); });
  const stopWatchdog = sd.startWatchdog();
  process.on('SIGHUP', () => { consoleParts?.reloadTokens(); void sd.reloading(); void co.request('SIGHUP').then(() => sd.ready()); });
  // Signal handlers go in before the first reconcile, so a stop during it is graceful too.
  const stopped = new Promise<number>((resolve) => {
    const stop = async (sig: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: sig }, 'stopping: no new work; waiting for the running cycle');
      void sd.stopping();
      clearInterval(timer);
      digest?.timer.stop();
      stopWatchdog();
      await watcher?.close();
      const grace = new Promise((r) => setTimeout(r, o.stopTimeoutSec * 1000).unref());
      await consoleParts?.queue.stop(); // queued ad-hoc actions are cancelled (audited); running ones finish
      await Promise.race([Promise.all([co.idle(), consoleParts?.queue.idle()]), grace]);
      await server?.close(2000);
      await consoleParts?.app.close();
      await hosts?.hosts.closeAll();
      await (notifier as { drain?: (ms: number) => Promise<boolean> }).drain?.(10_000);
      log.info('stopped');
      resolve(0);
    };
    // `on`, not `once`: execa's signal-exit re-raises a signal when it sees no other listener left,
    // which would kill us in the middle of a graceful stop.
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
  const first = co.request('start');
  await sd.ready(`watching ${o.source}`);
  await Promise.race([first, stopped]);
  return stopped;
}
