// Puts the operations console together inside the daemon: the API tokens, the audit log, the
// ad-hoc queue (shared concurrency slots, the applied revision's policy and hosts), the service,
// the fastify app with the web pages, and the storage sample kept after each reconcile.
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Bconsole } from '../adapters/bacula/bconsole.js';
import { buildConsoleApp } from '../adapters/console/app.js';
import { authenticator, loadTokenFile } from '../adapters/console/auth.js';
import { webRoutes } from '../adapters/console/web/routes.js';
import { SessionStore } from '../adapters/console/web/sessions.js';
import { AuditLog } from '../adapters/store/audit-log.js';
import type { StateStore } from '../adapters/store/state-store.js';
import { addDailySample, SAMPLES_KEY, usageOf, validSamples } from '../core/console/api-storage.js';
import type { DesiredState } from '../core/model.js';
import type { Notifier } from '../engine/context.js';
import type { Hosts } from '../engine/hosts.js';
import type { PolicySource } from '../ports/policy-source.js';
import { AdhocQueue } from './adhoc-queue.js';
import type { InForce } from './adhoc-run.js';
import { checkAdhoc, DaemonConsoleService, type LastReconcile } from './console-service.js';
import { readDaemonState } from './daemon-state.js';
import type { Gates } from './gates.js';

export interface ConsoleWiring {
  store: StateStore;
  stateDir: string;
  log: Logger;
  notifier: Notifier;
  policy: PolicySource;
  hostsFor: (revision: string, desired: DesiredState) => Promise<Hosts>;
  gates: Gates;
  bconsole?: Bconsole;
  last: () => LastReconcile | undefined;
  scrub: (s: string) => string;
  /** The tokens file (hashes); absent: every API request but openapi.json gets 401. */
  tokensFile?: string;
  maxEventStreams?: number;
  /** Once per ad-hoc action when it ends or is refused (MetricsRegistry.recordAdhoc). */
  recordAdhoc?: (kind: string, result: string) => void;
  /** After a pause or resume through the API (the daemon reconciles, so status and hypervisors see it). */
  onPauseChange?: () => void;
}

export interface ConsoleParts {
  app: FastifyInstance;
  queue: AdhocQueue;
  service: DaemonConsoleService;
  /** SIGHUP: reads the tokens file again; a bad file keeps the tokens in force (and says so in the log). */
  reloadTokens: () => void;
}

export const TEMPLATES_DIR = fileURLToPath(new URL('../../../templates/', import.meta.url));

export async function startConsole(w: ConsoleWiring): Promise<ConsoleParts> {
  const tokens = w.tokensFile ? loadTokenFile(w.tokensFile) : [];
  if (!w.tokensFile) w.log.warn('console API: no tokens file (--api-tokens or the credential console-tokens); every API request gets 401');
  else w.log.info({ tokens: tokens.length }, 'console API tokens loaded');
  const sessions = new SessionStore();
  let current = authenticator(tokens);
  const authenticate = (token: string): ReturnType<typeof current> => current(token);
  const reloadTokens = (): void => {
    if (!w.tokensFile) return;
    try {
      const fresh = loadTokenFile(w.tokensFile);
      current = authenticator(fresh);
      // A web session lives only as long as its token: one removed (or given another role) ends it.
      const ended = sessions.retain((p) => fresh.some((t) => t.name === p.name && t.role === p.role));
      w.log.info({ tokens: fresh.length, sessionsEnded: ended }, 'console API tokens reloaded (SIGHUP)');
    } catch (e) {
      w.log.error({ err: w.scrub((e as Error).message) }, 'console API tokens file not reloaded; the tokens in force are kept');
    }
  };
  const audit = new AuditLog(w.stateDir, w.scrub);
  const now = (): Date => new Date();
  const inForce = async (): Promise<InForce | undefined> => {
    const revision = readDaemonState(w.store).lastAppliedRevision;
    if (!revision) return undefined;
    const snap = await w.policy.at(revision);
    if (!snap.load.ok) return undefined;
    return { revision, desired: snap.load.desired, hosts: await w.hostsFor(revision, snap.load.desired) };
  };
  const queue = new AdhocQueue({ store: w.store, stateDir: w.stateDir, log: w.log, now, notifier: w.notifier, ...(w.bconsole ? { bconsole: w.bconsole } : {}), gates: w.gates, audit, scrub: w.scrub, inForce, check: checkAdhoc, ...(w.recordAdhoc ? { onEnd: w.recordAdhoc } : {}) });
  const service = new DaemonConsoleService({ store: w.store, stateDir: w.stateDir, audit, queue, now, scrub: w.scrub, log: w.log, last: w.last, inForce, ...(w.recordAdhoc ? { onEnd: w.recordAdhoc } : {}), ...(w.onPauseChange ? { onPauseChange: w.onPauseChange } : {}) });
  const app = await buildConsoleApp({
    service, authenticate, log: w.log, scrub: w.scrub, ...(w.maxEventStreams ? { maxEventStreams: w.maxEventStreams } : {}),
    onForbidden: (p, act, vm, need) => service.forbidden(p, act, vm, need),
    extra: async (a) => {
      try {
        await webRoutes(a, { service, authenticate, sessions, templatesDir: TEMPLATES_DIR, timeZone: () => w.last()?.timeZone, onLogin: async (p) => { await audit.append({ at: now().toISOString(), by: `api:${p.name}`, role: p.role, act: 'login', result: 'ok' }); } });
      } catch (e) { w.log.error({ err: w.scrub((e as Error).message) }, 'console web pages not registered'); }
      if (!a.hasRoute({ method: 'GET', url: '/' })) a.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui/', 302));
    },
  });
  return { app, queue, service, reloadTokens };
}

/** After each reconcile: today's storage sample (state key storage_samples, one per day, capped). */
export async function recordStorageSample(store: StateStore, last: LastReconcile, day: string): Promise<void> {
  const use = usageOf(last.statuses);
  const space = last.summary.storage;
  const used = space?.used_bytes ?? Object.values(use.by_vm).reduce((a, b) => a + b, 0);
  await store.update((d) => {
    d[SAMPLES_KEY] = addDailySample(validSamples(d[SAMPLES_KEY]), { day, used_bytes: used, ...(space ? { total_bytes: space.total_bytes } : {}), ...use });
  });
}
