// The notifier used when no channel is configured: everything still lands in the journal.
import type { Logger } from 'pino';
import type { DaemonNotifier } from './cycle.js';

export function logDaemonNotifier(log: Logger): DaemonNotifier {
  return {
    async notify(e) { log[e.kind === 'failure' ? 'error' : 'info']({ event: e.kind, vm: e.run.vm, run: e.run.id, error: e.run.error }, 'notification'); },
    async configAlert(revision, errors) { log.error({ event: 'config-alert', revision, errors }, 'notification'); },
    async recovered(revision) { log.info({ event: 'recovered', revision }, 'notification'); },
  };
}
