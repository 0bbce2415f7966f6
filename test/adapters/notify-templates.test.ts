import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/adapters/logger.js';
import { loadNotifyTemplates, NOTIFY_TEMPLATES, slackTemplateFor } from '../../src/adapters/notify/templates.js';
import { configAlertView } from '../../src/core/notify-config.js';
import type { NotifyView } from '../../src/core/notify-view.js';

const NOW = new Date('2026-02-07T17:42:30Z');

function view(p: Partial<NotifyView> = {}): NotifyView {
  return {
    kind: 'failure', severity: 'error', title: 'Backup failed: prod-db-01 on hypervisor-01', summary: 'it failed',
    time: NOW.toISOString(), timeText: '2026-02-07 12:42:30 EST', sections: [], vm: 'prod-db-01', hypervisor: 'hypervisor-01',
    error: 'boom', details: 'boom', data: { runId: 'backup-prod-db-01-1' },
    fields: [{ label: 'VM', value: 'prod-db-01' }, { label: 'Hypervisor', value: 'hypervisor-01' }], ...p,
  };
}

interface Block { type: string; text?: { type: string; text: string }; fields?: { type: string; text: string }[]; elements?: { text: string }[] }
const blocks = (json: string): Block[] => (JSON.parse(json) as { blocks: Block[] }).blocks;

describe('notification templates', () => {
  let repo: string;
  before(async () => { repo = await mkdtemp(join(tmpdir(), 'vmb-tpl-')); await mkdir(join(repo, 'templates')); });
  after(async () => { await rm(repo, { recursive: true, force: true }); });

  it('every Slack kind renders valid Block Kit from the built-ins', async () => {
    const t = await loadNotifyTemplates();
    for (const kind of ['failure', 'recovery', 'config-recovered', 'config-alert', 'digest', 'storage'] as const) {
      const name = slackTemplateFor(kind);
      assert.ok(name, kind);
      const b = blocks(t.render(name, view({ kind, sections: [{ title: 'Failed (1)', lines: ['x'] }] })));
      assert.equal(b[0]?.type, 'header', kind);
      assert.ok(b.some((x) => x.type === 'section' && x.fields?.length), kind);
      assert.equal(b.at(-1)?.type, 'context', kind);
    }
    assert.equal(slackTemplateFor('success'), undefined);
    assert.equal(slackTemplateFor('warning'), undefined);
  });

  it('hostile values cannot break the JSON and are escaped for mrkdwn', async () => {
    const t = await loadNotifyTemplates();
    const evil = 'quote " backslash \\ <!channel> & ``` code\nnew line';
    const json = t.render(NOTIFY_TEMPLATES.slackFailure, view({ error: evil, fields: [{ label: 'VM', value: evil }] }));
    const b = blocks(json);
    const err = b.find((x) => x.text?.text.startsWith('*Error*'))?.text?.text ?? '';
    assert.ok(err.includes('&lt;!channel&gt; &amp;'), err);
    assert.ok(err.startsWith('*Error*\n```') && err.endsWith('```'));
    assert.ok(!err.slice('*Error*\n```'.length, -3).includes('```'), 'a code fence inside the error cannot close the block');
    assert.ok(b[1]?.fields?.[0]?.text.includes('quote " backslash \\'));
  });

  it('long texts are cut to Slack limits; more than 10 fields become several sections', async () => {
    const t = await loadNotifyTemplates();
    const fields = Array.from({ length: 13 }, (_, i) => ({ label: `F${i}`, value: 'v' }));
    const b = blocks(t.render(NOTIFY_TEMPLATES.slackFailure, view({ title: 'T'.repeat(400), error: 'e'.repeat(10_000), fields })));
    assert.ok((b[0]?.text?.text.length ?? 0) <= 150);
    assert.deepEqual(b.filter((x) => x.fields).map((x) => x.fields?.length), [10, 3]);
    assert.ok(b.every((x) => (x.text?.text.length ?? 0) <= 3000));
  });

  it('config alerts list file:line:col errors', async () => {
    const t = await loadNotifyTemplates();
    const v = configAlertView({ revision: 'bad1', reason: 'invalid', errors: [{ code: 'X', severity: 'error', file: 'vms.yaml', line: 7, col: 3, message: 'unknown hypervisor "hv-9"' }] }, { now: NOW });
    const text = blocks(t.render(NOTIFY_TEMPLATES.slackConfigAlert, v)).map((x) => x.text?.text ?? '').join('\n');
    assert.match(text, /vms\.yaml:7:3: unknown hypervisor "hv-9"/);
  });

  it('e-mail and generic webhook built-ins', async () => {
    const t = await loadNotifyTemplates();
    assert.equal(t.render(NOTIFY_TEMPLATES.emailSubject, view()).trim(), '[vmbackup] Backup failed: prod-db-01 on hypervisor-01');
    const body = t.render(NOTIFY_TEMPLATES.emailBody, view({ sections: [{ title: 'Errors', lines: ['a:1:1: x'] }] }));
    assert.match(body, /^VM: prod-db-01$/m);
    assert.match(body, /^ {2}- a:1:1: x$/m);
    const hook = JSON.parse(t.render(NOTIFY_TEMPLATES.webhook, view())) as Record<string, unknown>;
    assert.equal(hook.event, 'failure');
    assert.equal(hook.vm, 'prod-db-01');
    assert.equal(hook.text, 'it failed');
    assert.deepEqual(hook.data, { runId: 'backup-prod-db-01-1' });
  });

  it('a repo templates/<name> overrides the built-in; a broken override falls back, logged', async () => {
    await writeFile(join(repo, 'templates', NOTIFY_TEMPLATES.slackFailure), '{"text": {{mrkdwn (lookup this "vm")}}, "blocks": [{"type":"section","text":{"type":"mrkdwn","text":"custom {{vm}}"}}]}');
    await writeFile(join(repo, 'templates', NOTIFY_TEMPLATES.slackDigest), '{"text": {{title}} }');
    const t = await loadNotifyTemplates(repo);
    assert.deepEqual(t.overridden, [NOTIFY_TEMPLATES.slackDigest, NOTIFY_TEMPLATES.slackFailure].sort());
    const custom = JSON.parse(t.render(NOTIFY_TEMPLATES.slackFailure, view())) as { text: string; blocks: Block[] };
    assert.equal(custom.text, 'prod-db-01');
    assert.equal(custom.blocks[0]?.text?.text, 'custom prod-db-01');
    const lines: string[] = [];
    const log = createLogger({ destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
    const digest = blocks(t.render(NOTIFY_TEMPLATES.slackDigest, view({ kind: 'digest' }), log));
    assert.equal(digest[0]?.type, 'header', 'built-in used');
    assert.match(lines.join(''), /slack-digest\.json\.hbs did not render valid JSON/);
  });

  it('overrides can also come as a name → source map (a git revision)', async () => {
    const t = await loadNotifyTemplates(new Map([[NOTIFY_TEMPLATES.emailSubject, 'ALERT {{vm}}'], ['bacula-dir.conf.hbs', 'ignored']]));
    assert.deepEqual(t.overridden, [NOTIFY_TEMPLATES.emailSubject]);
    assert.equal(t.render(NOTIFY_TEMPLATES.emailSubject, view()), 'ALERT prod-db-01');
  });
});
