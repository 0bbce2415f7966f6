// The Notifier end to end: views → templates → queue → a local HTTP receiver (Slack, generic
// webhook) and a local SMTP server, all on 127.0.0.1.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createLogger } from '../../src/adapters/logger.js';
import { createNotifier, type ChannelNotifier, type NotifierOptions } from '../../src/adapters/notify/notifier.js';
import { NOTIFY_TEMPLATES } from '../../src/adapters/notify/templates.js';
import type { RunRecord } from '../../src/adapters/store/state-store.js';
import type { Settings } from '../../src/core/model.js';
import type { FleetSummary, VmStatus } from '../../src/core/status-model.js';
import { startHttpReceiver, startSmtpReceiver, type Captured, type HttpReceiver, type SmtpReceiver } from '../helpers/receivers.js';

/** The receivers are plain http/SMTP on 127.0.0.1: the daemon-side allowance (never the repo's) lets secrets go there. */
const LOCAL_RECEIVERS = { VMBACKUP_ALLOW_PLAINTEXT_HTTP: '1', VMBACKUP_ALLOW_PLAINTEXT_SMTP: '1' };

const TZ = 'America/New_York';
const T0 = new Date('2026-02-07T17:45:00Z');
const FAIL_PATH = '/services/T0FAIL/B0FAIL/failTOKENfailTOKEN';
const DIGEST_PATH = '/services/T0DIG/B0DIG/digestTOKENdigest';
const HOOK_PATH = '/webhookb2/teams-generic-SECRETpath';

interface Block { type: string; text?: { type: string; text: string }; fields?: { type: string; text: string }[]; elements?: { text: string }[] }

const failed = (p: Partial<RunRecord> = {}): RunRecord => ({
  id: 'backup-prod-db-01-20260207170000-1', kind: 'backup', vm: 'prod-db-01', hypervisor: 'hypervisor-01',
  started: '2026-02-07T17:00:00.000Z', finished: '2026-02-07T17:42:30.000Z', status: 'failed',
  error: 'snapshot: guest agent did not thaw <vda>', warnings: [], pid: 1, steps: [{ name: 'snapshot', ok: false, ms: 5 }], ...p,
});
const succeeded = (p: Partial<RunRecord> = {}): RunRecord =>
  failed({ id: 'backup-prod-db-01-20260208170000-1', started: '2026-02-08T17:00:00.000Z', finished: '2026-02-08T17:30:00.000Z', status: 'ok', error: undefined, steps: [], sizeBytes: 2 * 1024 ** 3, ...p });

function fleet(percent: number): { summary: FleetSummary; statuses: VmStatus[] } {
  const status = (vm: string, hv: string, ok: boolean): VmStatus => ({
    vm, hypervisor: hv, observed: 'running', restore_points: [], history: [],
    conditions: [{ type: 'Ready', status: ok ? 'True' : 'False', reason: ok ? 'BackupSucceeded' : 'BackupFailed', message: '', lastTransitionTime: T0.toISOString() }],
    last_backup: { time: T0.toISOString(), status: ok ? 'ok' : 'failed', warnings: [], ...(ok ? {} : { error: 'storage full' }) },
  });
  return {
    summary: {
      generated_at: T0.toISOString(), last_attempt_errors: [], missing: [],
      totals: { vms: 3, ready: 2, failed: 1, overdue: 0, unknown: 0, unprotected: 1, missing: 0 },
      unprotected: [{ hypervisor: 'hypervisor-05', vm: 'dev-test-vm' }],
      storage: { used_bytes: 87 * 1024 ** 4, total_bytes: 100 * 1024 ** 4, percent },
      backups_last_7d: { ok: 2, failed: 1, size_bytes: 300 * 1024 ** 3, duration_ms: 4 * 3600_000 },
    },
    statuses: [status('prod-db-01', 'hypervisor-01', true), status('web-server-01', 'hypervisor-03', true), status('file-server-01', 'hypervisor-04', false)],
  };
}

describe('ChannelNotifier', () => {
  let slack: HttpReceiver;
  let hook: HttpReceiver;
  let smtp: SmtpReceiver;
  let creds: string;
  let clock: Date;
  let logLines: string[];
  const made: ChannelNotifier[] = [];

  before(async () => {
    slack = await startHttpReceiver();
    hook = await startHttpReceiver();
    smtp = await startSmtpReceiver({ user: 'vmbackup', password: 'smtp-Pa55word' });
    creds = await mkdtemp(join(tmpdir(), 'vmb-notify-creds-'));
    await writeFile(join(creds, 'slack-digest-webhook'), `${slack.url(DIGEST_PATH)}\n`);
    await writeFile(join(creds, 'smtp-password'), 'smtp-Pa55word\n');
  });
  after(async () => {
    for (const n of made) n.close();
    await Promise.all([slack.close(), hook.close(), smtp.close(), rm(creds, { recursive: true, force: true })]);
  });
  beforeEach(() => {
    slack.requests.length = 0; hook.requests.length = 0; smtp.mails.length = 0;
    clock = new Date(T0); logLines = [];
  });

  const notifications = (): Settings['notifications'] => ({
    slack: { failureWebhook: { env: 'SLACK_FAILURE_WEBHOOK' }, digestWebhook: { credential: 'slack-digest-webhook' }, digestSchedule: '0 18 * * 0' },
    email: { host: '127.0.0.1', port: smtp.port, from: 'vmbackup@example.com', to: ['ops@example.com', 'oncall@example.com'], user: 'vmbackup', password: { credential: 'smtp-password' } },
    webhook: { url: { env: 'TEAMS_WEBHOOK' } },
  });

  async function notifier(o: Partial<NotifierOptions> = {}): Promise<ChannelNotifier> {
    const log = createLogger({ level: 'debug', destination: new Writable({ write(c, _e, cb) { logLines.push(String(c)); cb(); } }) });
    const n = await createNotifier({
      notifications: notifications(), timeZone: TZ, log, now: () => clock,
      env: { ...LOCAL_RECEIVERS, SLACK_FAILURE_WEBHOOK: slack.url(FAIL_PATH), TEAMS_WEBHOOK: hook.url(HOOK_PATH), CREDENTIALS_DIRECTORY: creds },
      retry: { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 3 }, ...o,
    });
    made.push(n);
    return n;
  }

  const blocksOf = (c: Captured | undefined): Block[] => (c?.json as { blocks: Block[] }).blocks;
  const sentTo = (path: string): Captured[] => slack.requests.filter((r) => r.path === path);

  it('a failure goes to the Slack failure webhook (Block Kit), e-mail and the generic webhook', async () => {
    const n = await notifier();
    assert.deepEqual(n.problems, []);
    assert.deepEqual(n.configured, ['slack-failure', 'slack-digest', 'email', 'webhook']);
    await n.notify({ kind: 'failure', run: failed() });
    assert.equal(await n.drain(5000), true);

    const [msg] = sentTo(FAIL_PATH);
    assert.equal(slack.requests.length, 1);
    assert.equal(msg?.headers['content-type'], 'application/json; charset=utf-8');
    const b = blocksOf(msg);
    assert.deepEqual(b.map((x) => x.type), ['header', 'section', 'section', 'context']);
    assert.equal(b[0]?.text?.text, 'Backup failed: prod-db-01 on hypervisor-01');
    const fields = b[1]?.fields?.map((f) => f.text) ?? [];
    assert.ok(fields.includes('*VM*\nprod-db-01'), fields.join('|'));
    assert.ok(fields.includes('*Hypervisor*\nhypervisor-01'));
    assert.ok(fields.includes('*Time*\n2026-02-07 12:42:30 EST'));
    assert.equal(b[2]?.text?.text, '*Error*\n```snapshot: guest agent did not thaw &lt;vda&gt;```');
    assert.ok(b[3]?.elements?.some((e) => e.text === '2026-02-07T17:42:30.000Z'));
    assert.match((msg?.json as { text: string }).text, /Backup of prod-db-01 on hypervisor-01 failed/);

    const [mail] = await smtp.waitFor(1);
    assert.equal(mail?.from, 'vmbackup@example.com');
    assert.deepEqual(mail?.to, ['ops@example.com', 'oncall@example.com']);
    assert.equal(mail?.user, 'vmbackup', 'logged in with the password from the credential');
    assert.equal(mail?.subject, '[vmbackup] Backup failed: prod-db-01 on hypervisor-01');
    assert.match(mail?.text ?? '', /^VM: prod-db-01$/m);
    assert.match(mail?.text ?? '', /^Hypervisor: hypervisor-01$/m);
    assert.match(mail?.text ?? '', /^snapshot: guest agent did not thaw <vda>$/m);

    const [h] = hook.requests;
    assert.equal(h?.path, HOOK_PATH);
    const j = h?.json as Record<string, unknown>;
    assert.equal(j.event, 'failure');
    assert.equal(j.vm, 'prod-db-01');
    assert.equal(j.hypervisor, 'hypervisor-01');
    assert.equal(j.error, 'snapshot: guest agent did not thaw <vda>');
    assert.equal(j.time, '2026-02-07T17:42:30.000Z');
  });

  it('repeats within 5 minutes are suppressed per VM; after 5 minutes they are sent again', async () => {
    const n = await notifier();
    await n.notify({ kind: 'failure', run: failed() });
    clock = new Date(T0.getTime() + 4 * 60_000);
    await n.notify({ kind: 'failure', run: failed({ id: 'again' }) });
    await n.notify({ kind: 'failure', run: failed({ id: 'other', vm: 'web-server-01' }) });
    await n.drain(5000);
    assert.equal(sentTo(FAIL_PATH).length, 2);
    clock = new Date(T0.getTime() + 5 * 60_000);
    await n.notify({ kind: 'failure', run: failed({ id: 'later' }) });
    await n.drain(5000);
    assert.equal(sentTo(FAIL_PATH).length, 3);
    assert.ok(logLines.some((l) => l.includes('notification suppressed')));
  });

  it('a success after a failure is a recovery (Slack); a plain success goes to e-mail and webhook only', async () => {
    const n = await notifier();
    await n.notify({ kind: 'success', run: succeeded({ vm: 'web-server-01', id: 's1' }) });
    await n.notify({ kind: 'failure', run: failed() });
    clock = new Date(T0.getTime() + 86_400_000);
    await n.notify({ kind: 'success', run: succeeded() });
    await n.drain(5000);
    const slackMsgs = sentTo(FAIL_PATH).map((r) => blocksOf(r)[0]?.text?.text);
    assert.deepEqual(slackMsgs, ['Backup failed: prod-db-01 on hypervisor-01', 'Recovered: prod-db-01 on hypervisor-01']);
    assert.deepEqual(hook.requests.map((r) => (r.json as { event: string }).event), ['success', 'failure', 'recovery']);
    await smtp.waitFor(3);
    assert.deepEqual(smtp.mails.map((m) => m.subject).sort(), [
      '[vmbackup] Backup failed: prod-db-01 on hypervisor-01', '[vmbackup] Backup succeeded: web-server-01', '[vmbackup] Recovered: prod-db-01 on hypervisor-01',
    ]);
  });

  it('config alert once per bad revision, listing file:line:col errors; then "recovered"', async () => {
    const n = await notifier();
    const errors = [{ code: 'VMB_X', severity: 'error' as const, file: 'vms/db.yaml', line: 12, col: 7, message: 'hypervisor "hv-9" is not defined' }];
    await n.configAlert({ revision: 'bad0000000000000000000000000000000000001', reason: 'invalid', errors, appliedRevision: 'good000000000000000000000000000000000000' });
    clock = new Date(T0.getTime() + 3600_000);
    await n.configAlert({ revision: 'bad0000000000000000000000000000000000001', reason: 'invalid', errors });
    await n.recovered({ revision: 'f00d000000000000000000000000000000000002', failedRevision: 'bad0000000000000000000000000000000000001' });
    await n.drain(5000);
    const [alert, rec] = sentTo(FAIL_PATH);
    assert.equal(sentTo(FAIL_PATH).length, 2);
    assert.equal(blocksOf(alert)[0]?.text?.text, 'Config revision bad000000000 not applied');
    assert.ok(blocksOf(alert).some((b) => b.text?.text.includes('vms/db.yaml:12:7: hypervisor "hv-9" is not defined')));
    assert.equal(blocksOf(rec)[0]?.text?.text, 'Recovered: config revision f00d00000000 applied');
  });

  it('the digest goes to the digest webhook (from a systemd credential) with totals and the >80% storage alert', async () => {
    const n = await notifier();
    const { summary, statuses } = fleet(87);
    await n.digest(summary, statuses);
    await n.drain(5000);
    assert.equal(sentTo(FAIL_PATH).length, 0);
    const [d] = sentTo(DIGEST_PATH);
    const b = blocksOf(d);
    const all = b.map((x) => [x.text?.text ?? '', ...(x.fields ?? []).map((f) => f.text)].join('\n')).join('\n');
    assert.equal(b[0]?.text?.text, 'Backup summary: last 7 days');
    assert.equal(b[1]?.text?.text, 'Backup storage is 87% full (above 80%): 87.0 TiB of 100.0 TiB (87%)');
    for (const s of ['*Total VMs*\n3', '*Backups succeeded (7d)*\n2', '*Backups failed (7d)*\n1', '*Total size (7d)*\n300.0 GiB',
      '*Total duration (7d)*\n4h 0m', '*Unprotected*\n1', '• file-server-01 (hypervisor-04): storage full', '• dev-test-vm (hypervisor-05)']) {
      assert.ok(all.includes(s), `missing ${JSON.stringify(s)} in\n${all}`);
    }
    const j = hook.requests[0]?.json as { event: string; data: { storageAlert: boolean } };
    assert.equal(j.event, 'digest');
    assert.equal(j.data.storageAlert, true);
    assert.match((await smtp.waitFor(1))[0]?.text ?? '', /Backup storage is 87% full/);
  });

  it('the storage alert on its own: above 80% only, at most daily', async () => {
    const n = await notifier();
    await n.storage(fleet(80).summary);
    await n.storage(fleet(95).summary);
    await n.storage(fleet(96).summary);
    await n.drain(5000);
    assert.deepEqual(sentTo(FAIL_PATH).map((r) => blocksOf(r)[0]?.text?.text), ['Backup storage 95% full']);
  });

  it('uses the repo\'s templates/ override', async () => {
    const repo = await mkdtemp(join(tmpdir(), 'vmb-notify-repo-'));
    await mkdir(join(repo, 'templates'));
    await writeFile(join(repo, 'templates', NOTIFY_TEMPLATES.slackFailure), '{"text": {{mrkdwn summary}}, "blocks": [{"type":"section","text":{"type":"mrkdwn","text": {{mrkdwn vm}} }}], "channel_hint": "dc1"}');
    const n = await notifier({ repoDir: repo });
    await n.notify({ kind: 'failure', run: failed() });
    await n.drain(5000);
    const j = sentTo(FAIL_PATH)[0]?.json as { channel_hint: string; blocks: Block[] };
    assert.equal(j.channel_hint, 'dc1');
    assert.equal(j.blocks[0]?.text?.text, 'prod-db-01');
    await rm(repo, { recursive: true, force: true });
  });

  it('never blocks the caller and never logs a webhook URL or password, even when delivery fails', async () => {
    const bad = await startHttpReceiver((_i, c) => ({ status: 404, body: `no_service for ${c.path} at http://127.0.0.1${c.path}` }));
    const closed = await startHttpReceiver();
    const closedUrl = closed.url(HOOK_PATH);
    await closed.close();
    const n = await notifier({
      env: { ...LOCAL_RECEIVERS, SLACK_FAILURE_WEBHOOK: bad.url(FAIL_PATH), TEAMS_WEBHOOK: closedUrl, CREDENTIALS_DIRECTORY: creds },
      notifications: { ...notifications(), email: { ...notifications().email!, port: 1 } },
    });
    const t0 = performance.now();
    await n.notify({ kind: 'failure', run: failed() });
    assert.ok(performance.now() - t0 < 200, 'notify returns once queued');
    assert.equal(await n.drain(10_000), true);
    await bad.close();
    const text = logLines.join('');
    assert.match(text, /notification not delivered; giving up/);
    assert.match(text, /HTTP 404: no_service for \[redacted\]/);
    for (const secret of ['failTOKENfailTOKEN', 'T0FAIL', 'SECRETpath', 'smtp-Pa55word', 'digestTOKEN']) {
      assert.ok(!text.includes(secret), `log leaks ${secret}`);
    }
    assert.equal(n.queue.stats.failed, 3);
  });

  it('a missing secret disables that channel only, reported without its value', async () => {
    const n = await notifier({ env: { ...LOCAL_RECEIVERS, TEAMS_WEBHOOK: hook.url(HOOK_PATH) } });
    assert.deepEqual(n.configured, ['webhook']);
    assert.equal(n.problems.length, 3);
    assert.match(n.problems.join('\n'), /env SLACK_FAILURE_WEBHOOK.*is not set/);
    await n.notify({ kind: 'failure', run: failed() });
    await n.drain(5000);
    assert.equal(hook.requests.length, 1);
    assert.equal(slack.requests.length, 0);
  });
});
