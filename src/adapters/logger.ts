// pino JSON logs (journald-friendly) with secrets redacted wherever they might appear.
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', 'secret', '*.secret', 'token', '*.token',
  'webhook', '*.webhook', '*.*.webhook', 'url', '*.url', '*.failureWebhook', '*.digestWebhook',
  'headers.authorization', '*.headers.authorization', 'headers["x-hub-signature-256"]',
];

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream; name?: string } = {}): Logger {
  return pino({
    name: opts.name ?? 'vmbackup',
    level: opts.level ?? process.env.VMBACKUP_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, (opts.destination ?? process.stderr) as DestinationStream);
}
