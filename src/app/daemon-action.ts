// Wires the daemon from CLI flags (the composition root for `vmbackup daemon`).
import { createLogger } from '../adapters/logger.js';
import { runLogTap } from '../adapters/store/run-logs.js';
import { parseListenAddress } from '../adapters/http/listen.js';
import type { DaemonCliOptions } from './options.js';
import { runDaemon } from '../daemon/daemon.js';
import { NotifierBridge } from '../daemon/notifier-bridge.js';
import { AuditLog } from '../adapters/store/audit-log.js';
import { safeSourceConfig } from '../adapters/git/safe-source.js';
import { tokensPath } from '../adapters/console/auth.js';

export async function daemonAction(o: DaemonCliOptions & { apiTokens?: string; apiMaxStreams?: string }): Promise<void> {
  const log = createLogger({ level: o.logLevel, destination: process.stdout, tap: runLogTap(o.stateDir) });
  const parsed = o.listen && o.listen !== 'off' ? parseListenAddress(o.listen) : undefined;
  if (parsed && 'error' in parsed) throw new Error(`--listen ${o.listen}: ${parsed.error}`);
  const num = (flag: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} ${v}: expected an integer >= ${min}`);
    return n;
  };
  const limits = { maxConnections: num('--max-connections', o.maxConnections, 1), headersTimeoutMs: num('--header-timeout', o.headerTimeout, 1) * 1000, requestTimeoutMs: num('--request-timeout', o.requestTimeout, 1) * 1000 };
  if (limits.requestTimeoutMs < limits.headersTimeoutMs) throw new Error('--request-timeout must be at least --header-timeout');
  const listen = parsed ? { ...parsed, ...limits } : undefined;
  const apiTokensFile = tokensPath(o.apiTokens, process.env);
  // A local --repo owned by another user: git would refuse it as "dubious ownership" (safe-source.ts).
  const gitGlobal = await safeSourceConfig(o.repo, o.stateDir);
  if (gitGlobal) { process.env.GIT_CONFIG_GLOBAL = gitGlobal; log.info({ source: o.repo }, 'the source is owned by another user: trusted as git safe.directory (this path only)'); }
  const code = await runDaemon({
    source: o.repo, stateDir: o.stateDir, branch: o.branch, pollSec: Number(o.poll), ...(listen ? { listen } : {}),
    baculaConfigDir: o.baculaConfigDir, bconsoleConfig: o.bconsoleConfig, ...(o.cronFile ? { cronFile: o.cronFile } : {}),
    ...(o.allowedSigners ? { allowedSigners: o.allowedSigners } : {}), ...(o.gpgKeyring ? { gpgKeyring: o.gpgKeyring } : {}), acceptRewrittenHistory: Boolean(o.acceptRewrittenHistory), requireSignedHistory: Boolean(o.requireSignedHistory),
    push: o.push, once: Boolean(o.once), stopTimeoutSec: Number(o.stopTimeout), webhookMaxBodyBytes: num('--webhook-max-body', o.webhookMaxBody, 1),
    // The console's tokens: --api-tokens FILE, else the systemd credential console-tokens (hashes only).
    ...(apiTokensFile ? { apiTokensFile } : {}), apiMaxEventStreams: num('--api-max-streams', o.apiMaxStreams ?? '16', 1),
  }, log, (store) => new NotifierBridge(log, store, process.env, new AuditLog(o.stateDir)));
  process.exitCode = code;
  if (!o.once) process.exit(code);
}
