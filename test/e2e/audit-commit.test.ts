// Issue 13 "the audit trail is committed with the status files": the real daemon (`--once`, a bare
// remote, a hypervisor that cannot be reached) copies <state-dir>/audit/YYYY-MM.jsonl into
// status/audit/ on its status write-back, scrubbed of the daemon's secrets; an unchanged audit makes
// no commit; a copy edited in git is kept (not overwritten) and reported as VMB_AUDIT_DIVERGED.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { commitAndPush, type TestRepo } from '../helpers/git-repo.js';
import { offlineFleetRepo } from '../helpers/offline-fleet.js';
import { CLI } from '../helpers/paths.js';
import { LOCAL_RECEIVERS } from '../helpers/daemon.js';
import { AuditLog } from '../../src/adapters/store/audit-log.js';
import { auditLine, type AuditEntry } from '../../src/core/audit/entry.js';

/** A secret the policy references (the events webhook's URL): the daemon fills it through its vault. */
const HOOK = 'http://127.0.0.1:9/hooks/audit-scrub-7f3a9c41d2';
const entry = (at: string, result: AuditEntry['result'], detail?: string): AuditEntry => ({ at, by: 'api:alice', role: 'operator', act: 'backup', vm: 'app-01', action_id: 'q1', result, ...(detail ? { detail } : {}) });

describe('audit trail in the status commit', () => {
  let root = '';
  let repo: TestRepo | undefined;
  let stateDir = '';
  const bare = async (...a: string[]): Promise<string> => (await execa('git', ['--git-dir', repo!.bare, ...a])).stdout;
  const statusCommits = async () => (await bare('log', '--format=%s', 'main')).split('\n').filter((s) => s.startsWith('status:')).length;
  // The test process's AuditLog scrubs with its own (empty) vault: the secret reaches the state file as is.
  const audit = () => new AuditLog(stateDir, (s) => s);
  const once = async () => {
    const r = await execa(process.execPath, [CLI, 'daemon', '--repo', repo!.bare, '--state-dir', stateDir, '--once', '--listen', 'off', '--cron-file', join(root, 'vmbackup.cron')], { reject: false, env: { NO_COLOR: '1', ...LOCAL_RECEIVERS, EVENTS_WEBHOOK: HOOK } });
    assert.equal(r.exitCode, 0, r.stdout.slice(-3000) + r.stderr);
    return r.stdout + r.stderr;
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-audit-commit-'));
    ({ repo } = await offlineFleetRepo(root, { settings: ['  notifications: { webhook: { url: { env: EVENTS_WEBHOOK } } }'] }));
    stateDir = join(root, 'state');
  });
  after(async () => { await repo?.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('an appended line reaches status/audit/2026-12.jsonl in the next status commit, secrets scrubbed', async () => {
    await audit().append(entry('2026-12-03T10:00:00.000Z', 'accepted'));
    await once();
    assert.equal(await bare('show', 'main:status/audit/2026-12.jsonl'), auditLine(entry('2026-12-03T10:00:00.000Z', 'accepted')).trimEnd());
    const before = await statusCommits();
    await once();
    assert.equal(await statusCommits(), before, 'an unchanged audit makes no status commit');
    await audit().append(entry('2026-12-03T10:07:00.000Z', 'failed', `hook ${HOOK} said 500`));
    await once();
    assert.equal(await statusCommits(), before + 1);
    const text = await bare('show', 'main:status/audit/2026-12.jsonl');
    assert.equal(text.split('\n').length, 2);
    assert.match(text, /"result":"failed"/);
    assert.doesNotMatch(text, /audit-scrub-7f3a9c41d2/, 'the daemon\'s secret is scrubbed from the committed copy');
    assert.equal(await bare('diff-tree', '--no-commit-id', '--name-only', '-r', 'main'), 'status/audit/2026-12.jsonl', 'only the month that changed');
  });

  test('a copy edited in git is not overwritten: kept, and reported as VMB_AUDIT_DIVERGED', async () => {
    const forged = '{"at":"2026-12-03T10:00:00.000Z","by":"api:mallory","role":"admin","act":"restore","result":"ok"}\n';
    await commitAndPush(repo!, 'rewrite history', { 'status/audit/2026-12.jsonl': forged });
    await audit().append(entry('2026-12-03T11:00:00.000Z', 'ok'));
    const out = await once();
    assert.equal(await bare('show', 'main:status/audit/2026-12.jsonl'), forged.trimEnd());
    assert.match(out, /VMB_AUDIT_DIVERGED/);
    assert.match(out, /status\/audit\/2026-12\.jsonl/);
  });
});
