import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { syncCheckout, verifyCommitSignature } from '../../src/adapters/git/checkout.js';
import { listStatusFiles, writeStatus } from '../../src/adapters/git/status-writer.js';
import { parseStatusRestorePoints } from '../../src/core/status-file.js';
import { renderStatusFiles, statusCommitMessage } from '../../src/core/status-render.js';
import type { FleetSummary, VmStatus } from '../../src/core/status-model.js';

const MSG = 'status: 1 ok, 0 failed, 0 overdue [skip ci]';
const files = (n: number): Map<string, string> => new Map([['status/summary.yaml', `runs: ${n}\n`], ['status/vms/app-01.yaml', `vm: app-01\nrun: ${n}\n`]]);

interface Env { r: TestRepo; repoDir: string; bareGit: (...a: string[]) => Promise<string> }

async function setup(): Promise<Env> {
  const src = await mkdtemp(join(tmpdir(), 'vmbackup-policy-'));
  await writeFile(join(src, 'vms.yaml'), 'vms: []\n');
  const r = await makeRepo(src).finally(() => rm(src, { recursive: true, force: true }));
  const { dir } = await syncCheckout({ source: r.bare, stateDir: join(r.root, 'state') });
  const bareGit = async (...a: string[]): Promise<string> => (await execa('git', ['--git-dir', r.bare, ...a])).stdout;
  return { r, repoDir: dir, bareGit };
}

/** A human commit pushed from the engineer's clone, after catching up with the remote. */
async function humanPush(r: TestRepo, file: string, content: string): Promise<string> {
  await r.git('pull', '-q', '--rebase', 'origin', 'main');
  await mkdir(join(r.work, file, '..'), { recursive: true });
  await writeFile(join(r.work, file), content);
  await r.git('add', '-A');
  await r.git('commit', '-qm', `human: ${file}`);
  await r.git('push', '-q', 'origin', 'main');
  return r.git('rev-parse', 'HEAD');
}

const isLinear = async (e: Env): Promise<boolean> => (await e.bareGit('rev-list', '--merges', 'main')) === '';
const isAncestor = async (e: Env, c: string): Promise<boolean> => (await execa('git', ['--git-dir', e.r.bare, 'merge-base', '--is-ancestor', c, 'main'], { reject: false })).exitCode === 0;

describe('writeStatus', () => {
  let e: Env;
  beforeEach(async () => { e = await setup(); });
  afterEach(async () => e.r.cleanup());

  test('the status commit lands on the remote from the bot identity with [skip ci]; the apply checkout stays clean', async () => {
    const applied = (await execa('git', ['-C', e.repoDir, 'rev-parse', 'HEAD'])).stdout;
    const res = await writeStatus(e.repoDir, files(1), [], MSG);
    assert.deepEqual({ committed: res.committed, pushed: res.pushed, pending: res.pending, error: res.error }, { committed: true, pushed: true, pending: 0, error: undefined });
    assert.equal(res.commit, await e.bareGit('rev-parse', 'main'));
    assert.equal(await e.bareGit('log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', 'main'), `vmbackup-bot <vmbackup@localhost>|vmbackup-bot <vmbackup@localhost>|${MSG}`);
    assert.equal(await e.bareGit('show', 'main:status/vms/app-01.yaml'), 'vm: app-01\nrun: 1');
    assert.equal(await e.bareGit('diff-tree', '--no-commit-id', '--name-only', '-r', 'main'), 'status/summary.yaml\nstatus/vms/app-01.yaml');
    assert.equal((await execa('git', ['-C', e.repoDir, 'rev-parse', 'HEAD'])).stdout, applied, 'apply checkout untouched');
    assert.equal((await execa('git', ['-C', e.repoDir, 'status', '--porcelain'])).stdout, '');
  });

  test('a configured bot identity is used', async () => {
    await writeStatus(e.repoDir, files(1), [], MSG, { name: 'backup-robot', email: 'robot@example.invalid' });
    assert.equal(await e.bareGit('log', '-1', '--format=%an <%ae>', 'main'), 'backup-robot <robot@example.invalid>');
  });

  test('no commit when nothing changed', async () => {
    await writeStatus(e.repoDir, files(1), [], MSG);
    const head = await e.bareGit('rev-parse', 'main');
    const res = await writeStatus(e.repoDir, files(1), [], MSG);
    assert.deepEqual({ committed: res.committed, pushed: res.pushed, pending: res.pending }, { committed: false, pushed: false, pending: 0 });
    assert.equal(await e.bareGit('rev-parse', 'main'), head);
  });

  test('remote unreachable: committed locally, pushed on the next call once it is back', async () => {
    const before = await e.bareGit('rev-parse', 'main');
    await rename(e.r.bare, `${e.r.bare}.away`);
    const res = await writeStatus(e.repoDir, files(1), [], MSG).finally(() => rename(`${e.r.bare}.away`, e.r.bare));
    assert.deepEqual({ committed: res.committed, pushed: res.pushed, pending: res.pending }, { committed: true, pushed: false, pending: 1 });
    assert.match(res.error ?? '', /remote unreachable/);
    assert.equal(await e.bareGit('rev-parse', 'main'), before, 'nothing reached the remote');
    const again = await writeStatus(e.repoDir, files(1), [], MSG);
    assert.deepEqual({ committed: again.committed, pushed: again.pushed, pending: again.pending }, { committed: false, pushed: true, pending: 0 });
    assert.equal(again.commit, res.commit, 'the same local commit was pushed');
    assert.equal(await e.bareGit('show', 'main:status/summary.yaml'), 'runs: 1');
  });

  test('a human pushes while a status commit is unpushed: both survive, history linear, human hash unchanged', async () => {
    await rename(e.r.bare, `${e.r.bare}.away`);
    const local = await writeStatus(e.repoDir, files(1), [], MSG).finally(() => rename(`${e.r.bare}.away`, e.r.bare));
    assert.equal(local.pending, 1);
    const human = await humanPush(e.r, 'policies.yaml', 'policies: []\n');
    const res = await writeStatus(e.repoDir, files(2), [], MSG);
    assert.equal(res.pushed, true, res.error);
    assert.ok(await isAncestor(e, human), 'the human commit is in main, unchanged');
    assert.ok(await isLinear(e));
    assert.deepEqual((await e.bareGit('log', '--format=%an', 'main')).split('\n').slice(0, 3), ['vmbackup-bot', 'vmbackup-bot', 'Test Engineer']);
    assert.equal(await e.bareGit('show', 'main:policies.yaml'), 'policies: []');
    assert.equal(await e.bareGit('show', 'main:status/summary.yaml'), 'runs: 2');
  });

  test('the remote moves between fetch and push: rejected, fetched, rebased and retried, never forced', async () => {
    let human = '';
    let calls = 0;
    const res = await writeStatus(e.repoDir, files(1), [], MSG, {}, { beforePush: async () => { if (calls++ === 0) human = await humanPush(e.r, 'hv.yaml', 'hypervisors: []\n'); } });
    assert.equal(res.pushed, true, res.error);
    assert.equal(calls, 2, 'one rejected push, one that landed');
    assert.ok(await isAncestor(e, human));
    assert.ok(await isLinear(e));
    assert.equal(await e.bareGit('rev-parse', 'main~1'), human, 'the bot commit sits on top of the human one');
  });

  test('a human edit of a status file conflicts: the human commit stays, the bot status wins on top', async () => {
    await writeStatus(e.repoDir, files(1), [], MSG);
    await rename(e.r.bare, `${e.r.bare}.away`);
    await writeStatus(e.repoDir, files(2), [], MSG).finally(() => rename(`${e.r.bare}.away`, e.r.bare));
    const human = await humanPush(e.r, 'status/summary.yaml', 'edited by hand\n');
    const res = await writeStatus(e.repoDir, files(3), [], MSG);
    assert.equal(res.pushed, true, res.error);
    assert.ok(await isAncestor(e, human));
    assert.ok(await isLinear(e));
    assert.equal(await e.bareGit('show', 'main:status/summary.yaml'), 'runs: 3');
  });

  test('after a human force-push, commits the human removed are not resurrected by the bot', async () => {
    const initial = await e.bareGit('rev-parse', 'main');
    await writeStatus(e.repoDir, files(1), [], MSG);
    const removed = await humanPush(e.r, 'secret.yaml', 'oops: true\n');
    await writeStatus(e.repoDir, files(2), [], MSG);
    await rename(e.r.bare, `${e.r.bare}.away`);
    await writeStatus(e.repoDir, files(3), [], MSG).finally(() => rename(`${e.r.bare}.away`, e.r.bare));
    await e.r.git('reset', '-q', '--hard', initial);
    await writeFile(join(e.r.work, 'vms.yaml'), 'vms: [] # rewritten\n');
    await e.r.git('commit', '-qam', 'human: rewrite');
    await e.r.git('push', '-q', '--force', 'origin', 'main');
    const rewritten = await e.r.git('rev-parse', 'HEAD');
    const res = await writeStatus(e.repoDir, files(3), [], MSG);
    assert.equal(res.pushed, true, res.error);
    assert.equal(await isAncestor(e, removed), false, 'the removed commit stays removed');
    assert.equal(await e.bareGit('rev-parse', 'main~1'), rewritten);
    assert.equal(await e.bareGit('show', 'main:status/summary.yaml'), 'runs: 3');
  });

  test('a push refused for another reason (protected branch) is reported at once, not retried', async () => {
    await writeFile(join(e.r.bare, 'hooks', 'pre-receive'), '#!/bin/sh\necho "branch is protected" >&2\nexit 1\n', { mode: 0o755 });
    let calls = 0;
    const res = await writeStatus(e.repoDir, files(1), [], MSG, {}, { beforePush: async () => { calls++; } });
    assert.equal(calls, 1);
    assert.deepEqual({ committed: res.committed, pushed: res.pushed, pending: res.pending }, { committed: true, pushed: false, pending: 1 });
    assert.match(res.error ?? '', /push failed:.*(protected|declined)/s);
  });

  test('refuses any path outside status/, and commits nothing', async () => {
    const head = await e.bareGit('rev-parse', 'main');
    for (const bad of ['vms.yaml', 'status/../vms.yaml', 'statusx/a.yaml', '/etc/passwd', 'status/.git/config', 'status']) {
      await assert.rejects(writeStatus(e.repoDir, new Map([[bad, 'x']]), [], MSG), /refusing to write/, bad);
    }
    await assert.rejects(writeStatus(e.repoDir, files(1), ['policies/../vms.yaml'], MSG), /refusing to write/);
    await assert.rejects(writeStatus(e.repoDir, files(1), [], MSG, {}, { statusPath: '..' }), /invalid status path/);
    assert.equal(await e.bareGit('rev-parse', 'main'), head);
  });

  test('a status directory that a human replaced with a symlink is not followed', async () => {
    await mkdir(join(e.r.work, 'elsewhere'));
    await writeFile(join(e.r.work, 'elsewhere', 'keep.yaml'), 'x: 1\n');
    await symlink('elsewhere', join(e.r.work, 'status'));
    await humanPush(e.r, 'elsewhere/keep.yaml', 'x: 1\n');
    await assert.rejects(writeStatus(e.repoDir, files(1), [], MSG), /not a plain directory/);
    assert.equal(await e.bareGit('show', 'main:elsewhere/keep.yaml'), 'x: 1');
  });

  test('render → write → checkout: deletions apply and plan reads the restore points back', async () => {
    const vm = (name: string): VmStatus => ({
      vm: name, hypervisor: 'hv-01', observed: 'running', history: [], conditions: [],
      restore_points: [{ id: '2026-02-14-033000', time: '2026-02-14T03:30:00Z', status: 'ok', verify: 'ok', keep_reason: ['keep_last 1'] }],
    });
    const summary: FleetSummary = { generated_at: '2026-02-14T04:00:00Z', last_attempt_errors: [], totals: { vms: 2, ready: 0, failed: 0, overdue: 0, unknown: 2, unprotected: 0, missing: 0 }, unprotected: [], missing: [], backups_last_7d: { ok: 0, failed: 0, size_bytes: 0, duration_ms: 0 } };
    const first = renderStatusFiles([vm('a'), vm('b')], summary, '2026-02-14T04:00:00Z');
    assert.equal((await writeStatus(e.repoDir, first.files, first.deletions, statusCommitMessage(summary))).pushed, true);
    const existing = await listStatusFiles(e.repoDir);
    assert.deepEqual(existing, ['status/README.md', 'status/summary.yaml', 'status/vms/a.yaml', 'status/vms/b.yaml']);
    const second = renderStatusFiles([vm('a')], { ...summary, totals: { ...summary.totals, vms: 1, unknown: 1 } }, '2026-02-14T05:00:00Z', { existing });
    assert.deepEqual(second.deletions, ['status/vms/b.yaml']);
    const res = await writeStatus(e.repoDir, second.files, second.deletions, 'status: 0 ok, 0 failed, 0 overdue, 1 unknown [skip ci]');
    assert.equal(res.pushed, true, res.error);
    const { dir } = await syncCheckout({ source: e.r.bare, stateDir: join(e.r.root, 'state') });
    assert.equal(await readFile(join(dir, 'status/vms/b.yaml'), 'utf8').catch(() => 'gone'), 'gone');
    const back = parseStatusRestorePoints(await readFile(join(dir, 'status/vms/a.yaml'), 'utf8'));
    assert.deepEqual(back, { vm: 'a', points: [{ id: '2026-02-14-033000', time: '2026-02-14T03:30:00Z', status: 'ok', verify: 'ok' }] });
  });

  test('the status worktree is recreated if removed, keeping unpushed status commits', async () => {
    await rename(e.r.bare, `${e.r.bare}.away`);
    const local = await writeStatus(e.repoDir, files(1), [], MSG).finally(() => rename(`${e.r.bare}.away`, e.r.bare));
    await rm(`${e.repoDir}.status`, { recursive: true, force: true });
    const res = await writeStatus(e.repoDir, files(1), [], MSG);
    assert.deepEqual({ committed: res.committed, pushed: res.pushed, commit: res.commit }, { committed: false, pushed: true, commit: local.commit });
  });

  test('status commits can be signed by the bot, so a signature-checking daemon trusts them', async () => {
    const key = join(e.r.root, 'bot');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bot', '-f', key], { stdin: 'ignore' });
    const allowed = join(e.r.root, 'allowed_signers');
    await writeFile(allowed, `vmbackup@localhost ${(await readFile(`${key}.pub`, 'utf8')).trim()}\n`);
    const res = await writeStatus(e.repoDir, files(1), [], MSG, { signingKey: key });
    const v = await verifyCommitSignature(e.repoDir, res.commit ?? '', { allowedSignersFile: allowed });
    assert.equal(v.trusted, true, v.reason);
  });
});
