// Issue 13 "the digest lists ad-hoc actions of the period": the daemon's notifier bridge reads the
// audit log of its state dir and sends, on a real local webhook, the actions since the previous
// digest (remembered in the state file across a restart), and the paused VMs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { AuditLog } from '../../src/adapters/store/audit-log.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import type { AuditEntry } from '../../src/core/audit/entry.js';
import type { FleetSummary, VmStatus } from '../../src/core/status-model.js';
import { NotifierBridge } from '../../src/daemon/notifier-bridge.js';
import { loadNotifyTemplates, NOTIFY_TEMPLATES } from '../../src/adapters/notify/templates.js';
import { digestView } from '../../src/core/notify-digest.js';
import type { PolicySnapshot } from '../../src/ports/policy-source.js';
import { makeDesired } from '../fixtures/desired.js';
import { startHttpReceiver } from '../helpers/receivers.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const summary: FleetSummary = {
  generated_at: '2026-12-06T18:00:00Z', last_applied_revision: 'abc123', last_attempt_errors: [],
  totals: { vms: 1, ready: 1, failed: 0, overdue: 0, unknown: 0, unprotected: 0, missing: 0 },
  unprotected: [], missing: [], backups_last_7d: { ok: 1, failed: 0, size_bytes: 0, duration_ms: 0 },
};
const paused: VmStatus = {
  vm: 'app-01', hypervisor: 'hv1', observed: 'running', restore_points: [], history: [],
  conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: '', lastTransitionTime: '2026-12-01T00:00:00Z' }],
  paused: { until: '2026-12-20T08:00:00.000Z', reason: 'disk migration', by: 'api:alice' },
};

async function bridgeAt(stateDir: string, hookUrl: string): Promise<NotifierBridge> {
  const desired = makeDesired();
  desired.settings.notifications = { webhook: { url: { env: 'HOOK_URL' } } } as typeof desired.settings.notifications;
  desired.settings.timeZone = 'UTC';
  const snapshot = { label: 't', load: { ok: true, desired }, templates: {}, templateFiles: new Map() } as unknown as PolicySnapshot;
  const bridge = new NotifierBridge(pino({ level: 'silent' }), await StateStore.open(stateDir), { HOOK_URL: hookUrl, VMBACKUP_ALLOW_PLAINTEXT_HTTP: '1' }, new AuditLog(stateDir));
  await bridge.use(snapshot);
  return bridge;
}
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
type Sent = { sections: { title: string; lines: string[] }[]; data: { adhocActions: number; pausedVms: number } };

describe('digest: ad-hoc actions and pauses on a real webhook', () => {
  it('lists the period\'s actions once (across a restart) and the paused VMs', async () => {
    const hook = await startHttpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'vmb-digest-adhoc-')); dirs.push(dir);
    try {
      const audit = new AuditLog(dir);
      const a = (at: string, act: AuditEntry['act'], result: AuditEntry['result'], id?: string) => audit.append({ at, by: 'api:alice', role: 'operator', act, vm: 'app-01', result, ...(id ? { action_id: id } : {}) });
      await a(ago(30 * 86_400_000), 'backup', 'ok', 'old'); // before the first period (7 days)
      await a(ago(3_600_000), 'backup', 'accepted', 'q1');
      await a(ago(3_000_000), 'backup', 'ok', 'q1');
      await a(ago(2_000_000), 'pause', 'ok');
      const first = await bridgeAt(dir, hook.url('/hook'));
      await first.digest(summary, [paused]);
      // The daemon restarts between two digests: the period starts at the previous digest.
      const second = await bridgeAt(dir, hook.url('/hook'));
      await second.digest(summary, []);
      await a(new Date().toISOString(), 'verify', 'failed', 'q2');
      await second.digest(summary, []);
      assert.equal(await second.drain(5000), true);
      assert.equal(await first.drain(5000), true);
      assert.equal(hook.requests.length, 3);
      const [one, two, three] = hook.requests.map((r) => r.json as Sent);
      const adhoc = (s: Sent) => s.sections.find((x) => x.title.startsWith('Ad-hoc'));
      assert.equal(adhoc(one!)?.title, 'Ad-hoc actions since the last digest (2)');
      assert.match(adhoc(one!)!.lines[0]!, /: backup app-01 by api:alice: ok$/);
      assert.match(adhoc(one!)!.lines[1]!, /: pause app-01 by api:alice: ok$/);
      assert.deepEqual(one!.sections.find((x) => x.title.startsWith('Paused')), { title: 'Paused (1)', lines: ['app-01 (hv1): until 2026-12-20 08:00:00 UTC: disk migration (by api:alice)'] });
      assert.equal(one!.data.pausedVms, 1);
      assert.equal(adhoc(two!), undefined, 'nothing new since the previous digest');
      assert.equal(two!.data.adhocActions, 0);
      assert.deepEqual(adhoc(three!)?.lines.map((l) => l.replace(/^.*?: /, '')), ['verify app-01 by api:alice: failed']);
    } finally { await hook.close(); }
  });

  it('the built-in Slack digest and e-mail body carry both sections, escaped (a crafted detail cannot mention @channel)', async () => {
    const t = await loadNotifyTemplates();
    const view = digestView(summary, [paused], { now: new Date('2026-12-06T18:00:00Z'), timeZone: 'UTC' }, {}, [
      { at: '2026-12-03T10:00:00Z', by: 'api:alice', role: 'operator', act: 'backup', vm: 'app-01', action_id: 'q1', result: 'failed', detail: '<!channel> & "quotes"' },
    ]);
    const slack = JSON.parse(t.render(NOTIFY_TEMPLATES.slackDigest, view)) as { blocks: { text?: { text: string } }[] };
    const texts = slack.blocks.map((b) => b.text?.text ?? '');
    assert.ok(texts.some((x) => x.startsWith('*Paused (1)*\n• app-01 (hv1): until 2026-12-20 08:00:00 UTC: disk migration (by api:alice)')), texts.join('\n'));
    const adhoc = texts.find((x) => x.startsWith('*Ad-hoc actions since the last digest (1)*'))!;
    assert.match(adhoc, /backup app-01 by api:alice: failed \(&lt;!channel&gt; &amp; "quotes"\)/);
    const mail = t.render(NOTIFY_TEMPLATES.emailBody, view);
    assert.match(mail, /Ad-hoc actions since the last digest \(1\)/);
    assert.match(mail, /Paused \(1\)/);
  });
});
