// Wires the daemon from CLI flags (the composition root for `vmbackup daemon`).
import { createLogger } from '../adapters/logger.js';
import { parseListenAddress } from '../adapters/http/listen.js';
import type { DaemonCliOptions } from '../cli/daemon.js';
import { runDaemon } from '../daemon/daemon.js';
import { NotifierBridge } from '../daemon/notifier-bridge.js';

export async function daemonAction(o: DaemonCliOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, destination: process.stdout });
  const parsed = o.listen && o.listen !== 'off' ? parseListenAddress(o.listen) : undefined;
  if (parsed && 'error' in parsed) throw new Error(`--listen ${o.listen}: ${parsed.error}`);
  const listen = parsed;
  const code = await runDaemon({
    source: o.repo, stateDir: o.stateDir, branch: o.branch, pollSec: Number(o.poll), ...(listen ? { listen } : {}),
    baculaConfigDir: o.baculaConfigDir, bconsoleConfig: o.bconsoleConfig, cronFile: o.cronFile,
    ...(o.allowedSigners ? { allowedSigners: o.allowedSigners } : {}), ...(o.gpgKeyring ? { gpgKeyring: o.gpgKeyring } : {}),
    push: o.push, once: Boolean(o.once), stopTimeoutSec: Number(o.stopTimeout),
  }, log, (store) => new NotifierBridge(log, store, process.env));
  process.exitCode = code;
  if (!o.once) process.exit(code);
}
