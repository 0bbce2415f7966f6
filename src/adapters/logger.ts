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

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream; name?: string; vault?: SecretVault } = {}): Logger {
  const scrub = (opts.vault ?? defaultVault).scrub;
  return pino({
    name: opts.name ?? 'vmbackup',
    level: opts.level ?? process.env.VMBACKUP_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // The last step before the stream, child loggers included: whatever a field holds, no filled secret gets out.
    hooks: { streamWrite: (line: string) => scrub(line) },
  }, (opts.destination ?? process.stderr) as DestinationStream);
}
