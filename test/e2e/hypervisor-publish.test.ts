// Hypervisor mode, the hand-over: the real daemon publishes each applied revision over ssh to the
// lab's hv1 (runs_on: hypervisor), and a revision it refuses (invalid) never reaches hv1: hv1's
// vmbackup keeps acting on the last applied one until a valid revision is applied.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { localPublishedRevision } from '../../src/adapters/git/publish-revision.js';
import { commitAndPush, type TestRepo } from '../helpers/git-repo.js';
import { daemonState, startDaemon, waitFor, webhook, type DaemonProc } from '../helpers/daemon.js';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { vmbackup } from '../helpers/cli.js';
import { hvModeLabRepo } from '../helpers/hv-mode-lab.js';
import { loadLab } from '../lab/lab.js';

describe('hypervisor mode: only applied revisions reach a runs_on: hypervisor host', { timeout: 180_000 }, () => {
  let env: LabEnv | undefined;
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;
  const hvState = `/var/tmp/vmb-publish-e2e-${process.pid}`;
  let policy: Record<string, unknown> = {};

  before(async () => {
    const lab = loadLab();
    if (!lab) return;
    env = await labEnv(lab, { isolate: true });
    ({ repo, policy } = await hvModeLabRepo(lab, env, hvState));
  });
  after(async () => {
    await d?.stop().catch(() => undefined);
    await repo?.cleanup();
    await env?.cleanup();
    await rm(hvState, { recursive: true, force: true });
  });

  test('applied → published; invalid → refused and not published; the next valid one → published', async (t) => {
    if (!labOrSkip(t) || !env || !repo) return;
    const r1 = (await repo.git('rev-parse', 'HEAD')).trim();
    d = await startDaemon(repo.bare, env.stateDir, ['--no-push']);
    await waitFor('hv1 to have the first applied revision', async () => (await localPublishedRevision(hvState)) === r1, 60_000);
    // The ref moves first, the log line follows it.
    await waitFor('the publish log line', async () => /applied revision published to the hypervisor/.test(d!.logs()), 10_000);

    // hv1's own vmbackup (as its bacula-fd runs it) acts on that revision, whatever --repo says.
    const check = await vmbackup(['status', '--json', '--state-dir', hvState, '--repo', repo.work]);
    assert.ok(check.code === 0 || check.code === 1, check.stdout + check.stderr);

    const r2 = await commitAndPush(repo, 'broken policy', { 'lab.yaml': 'vms: [ {\n' });
    assert.equal(await webhook(d.url, r2), 202);
    await waitFor('the daemon to refuse the invalid revision', async () => (await daemonState(env!.stateDir)).daemon?.lastAttemptedRevision === r2, 60_000);
    assert.equal((await daemonState(env.stateDir)).daemon?.lastAppliedRevision, r1);
    assert.equal(await localPublishedRevision(hvState), r1, 'the refused revision never reached hv1');

    const r3 = await commitAndPush(repo, 'valid again', { 'lab.yaml': stringify({ ...policy, settings: { ...(policy.settings as object), overdue_grace_hours: 7 } }) });
    assert.equal(await webhook(d.url, r3), 202);
    await waitFor('hv1 to have the next applied revision', async () => (await localPublishedRevision(hvState)) === r3, 60_000);
  });
});
