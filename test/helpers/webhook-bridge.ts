// The daemon's NotifierBridge wired to one generic webhook at a local receiver, for tests that
// check what an event sends on a real channel.
import { pino } from 'pino';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { NotifierBridge } from '../../src/daemon/notifier-bridge.js';
import type { PolicySnapshot } from '../../src/ports/policy-source.js';
import { makeDesired } from '../fixtures/desired.js';

export async function webhookBridge(stateDir: string, hookUrl: string): Promise<NotifierBridge> {
  const desired = makeDesired();
  desired.settings.notifications = { webhook: { url: { env: 'HOOK_URL' } } } as typeof desired.settings.notifications;
  const snapshot = { label: 't', load: { ok: true, desired }, templates: {}, templateFiles: new Map() } as unknown as PolicySnapshot;
  const bridge = new NotifierBridge(pino({ level: 'silent' }), await StateStore.open(stateDir), { HOOK_URL: hookUrl, VMBACKUP_ALLOW_PLAINTEXT_HTTP: '1' });
  await bridge.use(snapshot);
  return bridge;
}
