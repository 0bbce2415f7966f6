// pino JSON logs (journald-friendly) with secrets redacted wherever they might appear: known key
// paths are censored, and every serialized line is scrubbed of the vault's values before it is written.
import { pino, type DestinationStream, type Logger } from 'pino';
import { defaultVault } from './secrets/default-vault.js';
import type { SecretVault } from './secrets/vault.js';

export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', 'secret', '*.secret', 'token', '*.token',
  'webhook', '*.webhook', '*.*.webhook', 'url', '*.url', '*.failureWebhook', '*.digestWebhook',
  'headers.authorization', '*.headers.authorization', 'headers["x-hub-signature-256"]',
];

/** Sees every line after the scrub, as written to the destination; `say` writes a line of its own there. */
export type RunLogTap = (line: string, say: (line: string) => void) => void;

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream; name?: string; vault?: SecretVault; tap?: RunLogTap } = {}): Logger {
  const scrub = (opts.vault ?? defaultVault).scrub;
  const dest = opts.destination ?? process.stderr;
  const tap = opts.tap;
  const say = (line: string): void => { dest.write(line); };
  // The tap (store/run-logs.ts: each run's own file) is fed what the destination got, never more.
  const stream = tap ? { write(line: string) { dest.write(line); try { tap(line, say); } catch { /* a tap never breaks logging */ } } } : dest;
  return pino({
    name: opts.name ?? 'vmbackup',
    level: opts.level ?? process.env.VMBACKUP_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // The last step before the stream, child loggers included: whatever a field holds, no filled secret gets out.
    hooks: { streamWrite: (line: string) => scrub(line) },
  }, stream as DestinationStream);
}
