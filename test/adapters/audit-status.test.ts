// Issue 13 "the audit trail is committed with the status files": the state dir's month files are
// read safely (no symlinks, names YYYY-MM.jsonl only) and written to status/audit/ append-only:
// a repository copy that is not a byte prefix of the new text is kept and reported, never
// overwritten; an unchanged month makes no commit. Real git with a bare remote.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { syncCheckout } from '../../src/adapters/git/checkout.js';
import { writeStatus } from '../../src/adapters/git/status-writer.js';
import { AuditLog, auditDir } from '../../src/adapters/store/audit-log.js';
import { readAuditForStatus } from '../../src/adapters/store/audit-status.js';
import { auditLine, type AuditEntry } from '../../src/core/audit/entry.js';
import { appendOnlyCheck } from '../../src/core/audit/mirror.js';

const MSG = 'status: 1 ok, 0 failed, 0 overdue [skip ci]';
const entry = (at: string, act: AuditEntry['act'] = 'backup', result: AuditEntry['result'] = 'accepted'): AuditEntry => ({ at, by: 'api:alice', role: 'operator', act, vm: 'app-01', action_id: 'a1', result });

describe('appendOnlyCheck (pure)', () => {
  test('same, write (absent or a byte prefix), diverged', () => {
    const b = (s: string) => Buffer.from(s);
    assert.equal(appendOnlyCheck(undefined, b('x\n')), 'write');
    assert.equal(appendOnlyCheck(b('x\n'), b('x\n')), 'same');
    assert.equal(appendOnlyCheck(b('x\n'), b('x\ny\n')), 'write');
    assert.equal(appendOnlyCheck(b(''), b('x\n')), 'write');
    assert.equal(appendOnlyCheck(b('X\n'), b('x\ny\n')), 'diverged', 'history edited');
    assert.equal(appendOnlyCheck(b('x\ny\n'), b('x\n')), 'diverged', 'state file truncated');
  });
});

describe('readAuditForStatus', () => {
  let dir = '';
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'vmb-audit-read-')); });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  test('each month file becomes <status>/audit/YYYY-MM.jsonl byte for byte; symlinks and other names are not read', async () => {
    const log = new AuditLog(dir);
    await log.append(entry('2026-11-30T23:59:00.000Z'));
    await log.append(entry('2026-12-03T10:00:00.000Z'));
    await log.append(entry('2026-12-03T10:05:00.000Z', 'backup', 'ok'));
    await writeFile(join(dir, 'secret.txt'), 'root:x:0:0\n');
    await symlink(join(dir, 'secret.txt'), join(auditDir(dir), '2026-10.jsonl'));
    await writeFile(join(auditDir(dir), 'notes.txt'), 'not an audit file\n');
    const r = await readAuditForStatus(dir, 'ops/status');
    assert.deepEqual([...r.files.keys()], ['ops/status/audit/2026-11.jsonl', 'ops/status/audit/2026-12.jsonl']);
    assert.equal(r.files.get('ops/status/audit/2026-12.jsonl'), auditLine(entry('2026-12-03T10:00:00.000Z')) + auditLine(entry('2026-12-03T10:05:00.000Z', 'backup', 'ok')));
    assert.deepEqual(r.unreadable.map((u) => u.file), ['2026-10.jsonl']);
    assert.match(r.unreadable[0]!.error, /symbolic link/);
  });

  test('with the checkout: a month whose copy there has the same size is not read again; a grown or missing one is', async () => {
    const log = new AuditLog(dir);
    await log.append(entry('2026-11-30T23:59:00.000Z'));
    await log.append(entry('2026-12-03T10:00:00.000Z'));
    const checkout = join(dir, 'checkout');
    await mkdir(join(checkout, 'status', 'audit'), { recursive: true });
    await writeFile(join(checkout, 'status', 'audit', '2026-11.jsonl'), auditLine(entry('2026-11-30T23:59:00.000Z')));
    await writeFile(join(checkout, 'status', 'audit', '2026-12.jsonl'), auditLine(entry('2026-12-03T10:00:00.000Z')));
    assert.deepEqual([...(await readAuditForStatus(dir, 'status', checkout)).files.keys()], [], 'nothing changed: nothing read');
    await log.append(entry('2026-12-03T10:05:00.000Z', 'backup', 'ok'));
    assert.deepEqual([...(await readAuditForStatus(dir, 'status', checkout)).files.keys()], ['status/audit/2026-12.jsonl'], 'only the month that grew');
    await rm(join(checkout, 'status', 'audit', '2026-11.jsonl'));
    assert.deepEqual([...(await readAuditForStatus(dir, 'status', checkout)).files.keys()], ['status/audit/2026-11.jsonl', 'status/audit/2026-12.jsonl'], 'a copy missing from the repository is written again');
  });

  test('no audit directory: nothing to write', async () => {
    assert.deepEqual((await readAuditForStatus(dir, 'status')).files.size, 0);
  });
});

describe('writeStatus appendOnly', () => {
  let r: TestRepo;
  let repoDir = '';
  const bare = async (...a: string[]): Promise<string> => (await execa('git', ['--git-dir', r.bare, ...a])).stdout;
  const statusCommits = async () => (await bare('log', '--format=%s', 'main')).split('\n').filter((s) => s.startsWith('status:')).length;
  beforeEach(async () => {
    const src = await mkdtemp(join(tmpdir(), 'vmbackup-policy-'));
    await writeFile(join(src, 'vms.yaml'), 'vms: []\n');
    r = await makeRepo(src).finally(() => rm(src, { recursive: true, force: true }));
    repoDir = (await syncCheckout({ source: r.bare, stateDir: join(r.root, 'state') })).dir;
  });
  afterEach(async () => r.cleanup());

  const summary = new Map([['status/summary.yaml', 'runs: 1\n']]);
  const one = '{"at":"2026-12-03T10:00:00.000Z"}\n';
  const two = `${one}{"at":"2026-12-03T11:00:00.000Z"}\n`;
  const three = `${two}{"at":"2026-12-03T12:00:00.000Z"}\n`;

  test('written when new or grown; unchanged makes no commit', async () => {
    let w = await writeStatus(repoDir, summary, [], MSG, {}, { appendOnly: new Map([['status/audit/2026-12.jsonl', one]]) });
    assert.equal(w.pushed, true);
    assert.deepEqual(w.diverged ?? [], []);
    assert.equal(await bare('show', 'main:status/audit/2026-12.jsonl'), one.trimEnd());
    const before = await statusCommits();
    w = await writeStatus(repoDir, summary, [], MSG, {}, { appendOnly: new Map([['status/audit/2026-12.jsonl', one]]) });
    assert.equal(w.committed, false);
    assert.equal(await statusCommits(), before, 'an unchanged audit makes no commit');
    w = await writeStatus(repoDir, summary, [], MSG, {}, { appendOnly: new Map([['status/audit/2026-12.jsonl', two]]) });
    assert.equal(w.committed, true);
    assert.equal(await bare('show', 'main:status/audit/2026-12.jsonl'), two.trimEnd());
    assert.equal(await bare('diff-tree', '--no-commit-id', '--name-only', '-r', 'main'), 'status/audit/2026-12.jsonl', 'only the month that changed');
  });

  test('a repository copy edited in git is kept and reported; the rest of the status is still written', async () => {
    await writeStatus(repoDir, summary, [], MSG, {}, { appendOnly: new Map([['status/audit/2026-12.jsonl', two]]) });
    await r.git('pull', '-q', '--rebase', 'origin', 'main');
    const forged = '{"at":"2026-12-03T10:00:00.000Z","forged":true}\n';
    await mkdir(join(r.work, 'status/audit'), { recursive: true });
    await writeFile(join(r.work, 'status/audit/2026-12.jsonl'), forged);
    await r.git('commit', '-qam', 'human: rewrite the audit');
    await r.git('push', '-q', 'origin', 'main');
    const w = await writeStatus(repoDir, new Map([['status/summary.yaml', 'runs: 2\n']]), [], MSG, {}, { appendOnly: new Map([['status/audit/2026-12.jsonl', three], ['status/audit/2027-01.jsonl', one]]) });
    assert.deepEqual(w.diverged, ['status/audit/2026-12.jsonl']);
    assert.equal(await bare('show', 'main:status/audit/2026-12.jsonl'), forged.trimEnd(), 'not overwritten');
    assert.equal(await bare('show', 'main:status/summary.yaml'), 'runs: 2');
    assert.equal(await bare('show', 'main:status/audit/2027-01.jsonl'), one.trimEnd(), 'other months are still written');
  });

  test('edited in git while a status commit waited for the remote: the edited copy is kept, not replayed over', async () => {
    await writeStatus(repoDir, summary, [], MSG, {}, { appendOnly: new Map([['status/audit/2026-12.jsonl', one]]) });
    await rename(r.bare, `${r.bare}.away`);
    const local = await writeStatus(repoDir, summary, [], MSG, {}, { appendOnly: new Map([['status/audit/2026-12.jsonl', two]]) }).finally(() => rename(`${r.bare}.away`, r.bare));
    assert.equal(local.pending, 1);
    await r.git('pull', '-q', '--rebase', 'origin', 'main');
    const forged = '{"at":"2026-12-03T10:00:00.000Z","forged":true}\n';
    await writeFile(join(r.work, 'status/audit/2026-12.jsonl'), forged);
    await r.git('commit', '-qam', 'human: rewrite the audit');
    await r.git('push', '-q', 'origin', 'main');
    const w = await writeStatus(repoDir, new Map([['status/summary.yaml', 'runs: 2\n']]), [], MSG, {}, { appendOnly: new Map([['status/audit/2026-12.jsonl', three]]) });
    assert.equal(w.pushed, true, w.error);
    assert.deepEqual(w.diverged, ['status/audit/2026-12.jsonl']);
    assert.equal(await bare('show', 'main:status/audit/2026-12.jsonl'), forged.trimEnd(), 'the copy on the remote is what the human left');
    assert.equal(await bare('show', 'main:status/summary.yaml'), 'runs: 2');
  });
});
