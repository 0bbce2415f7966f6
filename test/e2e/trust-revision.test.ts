// One applied revision for every process, against real parts: a bare remote, the daemon as a
// child process with an allowed-signers file, real ssh signatures, the lab's VM, the CLI as Bacula
// RunScripts and cron lines call it, and a local Slack receiver. Issue 8, cases 1, 2 and 6.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { commitAndPush, makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { daemonState, startDaemon, waitFor, webhook, type DaemonProc } from '../helpers/daemon.js';
import { vmbackup } from '../helpers/cli.js';
import { makeSigningKeys, signArgs, signFlag, type SigningKeys } from '../helpers/signing.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';
import { labPolicy } from '../lab/policy-repo.js';
import type { Lab } from '../lab/lab.js';

describe('trust: a refused head never acts, anywhere (daemon + RunScript CLI, real git signatures)', () => {
  let lab: Lab | undefined;
  let env: LabEnv | undefined;
  let repo: TestRepo | undefined;
  let keys: SigningKeys | undefined;
  let slack: HttpReceiver | undefined;
  let d: DaemonProc | undefined;
  let policy: Record<string, unknown> = {};
  let marker = '';
  let goodRev = '';
  const exists = (p: string) => stat(p).then(() => true, () => false);
  const alerts = () => slack!.requests.filter((r) => /not applied|not trusted|refused|invalid/i.test(r.body) && r.path === '/failure');
  const vms = () => policy.vms as Record<string, unknown>[];
  const ids = async () => (await readdir(join(env!.storageDir, 'local', 'lab-noos')).catch(() => [])).filter((n) => /^\d{4}-\d{2}-\d{2}-\d{6}$/.test(n)).sort();
  const channelEnv = () => ({ SLACK_FAILURE_WEBHOOK: slack!.url('/failure'), VMBACKUP_ALLOW_PLAINTEXT_HTTP: '1' });
  const start = () => startDaemon(repo!.bare, env!.stateDir, ['--allowed-signers', keys!.allowedSigners], channelEnv());
  async function commit(msg: string, key: string | undefined, mutate: (p: Record<string, unknown>) => void): Promise<string> {
    await repo!.git('pull', '-q', '--rebase', 'origin', 'main');
    mutate(policy);
    return commitAndPush(repo!, msg, { 'lab.yaml': stringify(policy) }, { config: signArgs(key), flag: signFlag(key) });
  }
  const attempted = (rev: string) => waitFor(`attempt of ${rev.slice(0, 12)} recorded`, async () => { const s = await daemonState(env!.stateDir); return s.daemon?.lastAttemptedRevision === rev ? s : undefined; }, 30_000)
    .catch((e: Error) => { throw new Error(`${e.message}\n${d?.logs().slice(-3000)}`); });
  const statusCommitsAfter = async (rev: string) => (await execa('git', ['--git-dir', repo!.bare, 'log', '--format=%s', `${rev}..main`])).stdout.split('\n').filter((s) => s.startsWith('status:')).length;

  before(async () => {
    lab = (await import('../lab/lab.js')).loadLab();
    if (!lab) return;
    env = await labEnv(lab, { isolate: true });
    marker = join(env.root, 'pre-backup-ran');
    slack = await startHttpReceiver();
    policy = labPolicy(lab, { controlDir: join(env.root, 'ssh'), storageRoot: env.storageDir, remoteStorageRoot: join(lab.storage.remoteDir, env.storageDir.slice(lab.storage.dir.length + 1)) });
    policy.vms = vms().filter((v) => v.name === 'lab-noos').map((v) => ({ ...v, retention: { keep_last: 5 } }));
    (policy.settings as Record<string, unknown>).notifications = { slack: { failure_webhook: { env: 'SLACK_FAILURE_WEBHOOK' } } };
    const src = join(env.root, 'seed');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'lab.yaml'), stringify(policy));
    repo = await makeRepo(src);
    keys = await makeSigningKeys(env.root);
    goodRev = await commit('signed start', keys.ops, () => { policy.vms = vms().map((v) => ({ ...v, labels: { signed: 'yes' } })); });
  });
  after(async () => { await d?.stop().catch(() => undefined); await slack?.close(); await repo?.cleanup(); await env?.cleanup(); });

  test('the signed head is applied and acted on', async (t) => {
    if (!labOrSkip(t)) return;
    d = await start();
    await waitFor('readyz', async () => (await fetch(`${d!.url}/readyz`)).status === 200, 60_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
    assert.equal((await daemonState(env!.stateDir)).daemon?.lastAppliedRevision, goodRev);
    assert.equal((await ids()).length, 1);
  });

  test("an unsigned head's pre_backup_commands never run: not by the daemon, not by the RunScript/cron CLI; alerted once; at most one status commit", async (t) => {
    if (!labOrSkip(t)) return;
    const bad = await commit('unsigned: add a pre-backup command', undefined, () => {
      policy.vms = vms().map((v) => ({ ...v, pre_backup_commands: [`/usr/bin/touch ${marker}`] }));
    });
    assert.equal(await webhook(d!.url, bad), 202);
    const st = await attempted(bad);
    assert.match(st.daemon!.lastAttemptErrors.join('\n'), /not trusted: commit [0-9a-f]{12} is not signed/);
    assert.equal(st.daemon!.lastAppliedRevision, goodRev);
    // The daemon's fetch checkout holds the refused head: the CLI must not take its policy from there.
    assert.match(await readFile(join(env!.stateDir, 'repo', 'lab.yaml'), 'utf8'), /pre_backup_commands/);
    // Exactly what the rendered RunScript and cron line run (no VMBACKUP_STATE_DIR: found from --repo).
    const r = await vmbackup(['backup', 'lab-noos', '--repo', join(env!.stateDir, 'repo'), '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await exists(marker), false, 'the refused revision\'s pre_backup_commands ran');
    const runs = (await daemonState(env!.stateDir)).runs.filter((x) => x.vm === 'lab-noos' && x.kind === 'backup') as { revision?: string }[];
    assert.equal(runs.at(-1)?.revision, goodRev, 'the run records the applied revision it ran with');
    // No loop: more triggers for the same refused head add no alert and at most one status commit.
    for (let i = 0; i < 4; i++) { assert.equal(await webhook(d!.url, bad), 202); await new Promise((res) => setTimeout(res, 400)); }
    process.kill(d!.proc.pid!, 'SIGHUP');
    await new Promise((res) => setTimeout(res, 3000));
    assert.equal(alerts().length, 1, `one alert for the refused head: ${JSON.stringify(slack!.requests.map((x) => x.body.slice(0, 200)))}`);
    assert.ok(await statusCommitsAfter(bad) <= 2, `status commits after the refused head: ${await statusCommitsAfter(bad)}`);
    const before = await statusCommitsAfter(bad);
    for (let i = 0; i < 3; i++) { assert.equal(await webhook(d!.url, bad), 202); await new Promise((res) => setTimeout(res, 700)); }
    assert.equal(await statusCommitsAfter(bad), before, 'no status commit loop');
    // Full reconciles (SIGHUP, as a poll would) with nothing new to report commit nothing either.
    for (let i = 0; i < 2; i++) {
      const n = (d!.logs().match(/"msg":"reconcile done"/g) ?? []).length;
      process.kill(d!.proc.pid!, 'SIGHUP');
      await waitFor('reconcile after SIGHUP', async () => (d!.logs().match(/"msg":"reconcile done"/g) ?? []).length > n, 30_000);
    }
    assert.equal(await statusCommitsAfter(bad), before, `a reconcile with nothing new makes no status commit:\n${(await execa('git', ['--git-dir', repo!.bare, 'log', '-p', '-2', '--format=%s', 'main'])).stdout.slice(0, 4000)}`);
    assert.equal((await fetch(`${d!.url}/readyz`)).status, 200, 'the last good revision stays in force');
  });

  test('a restart alerts a refused head it has not alerted yet, once; one already alerted is not repeated', async (t) => {
    if (!labOrSkip(t)) return;
    assert.equal(await d!.stop(), 0);
    const n0 = alerts().length;
    d = await start();
    await waitFor('readyz', async () => (await fetch(`${d!.url}/readyz`)).status === 200, 60_000);
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(alerts().length, n0, 'an alerted refusal is not repeated after a restart');
    assert.equal(await d!.stop(), 0);
    // Pushed while the daemon is down: a signed commit that is invalid.
    const broken = await commit('signed but invalid', keys!.ops, (p) => { (p.settings as Record<string, unknown>).sheduler = 'cron'; });
    d = await start();
    await attempted(broken);
    await waitFor('start-up alert', async () => alerts().length === n0 + 1, 15_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
    assert.match(alerts().at(-1)!.body, /sheduler/);
  });

  test('an unsigned merge on signed history and a force-push back to an older signed commit are refused', async (t) => {
    if (!labOrSkip(t)) return;
    // Fix first (signed, on top): applied.
    const fixed = await commit('signed fix', keys!.ops, (p) => { delete (p.settings as Record<string, unknown>).sheduler; policy.vms = vms().map(({ pre_backup_commands: _x, ...v }) => v); });
    await webhook(d!.url, fixed);
    await waitFor('fix applied', async () => (await daemonState(env!.stateDir)).daemon?.lastAppliedRevision === fixed, 30_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
    // A signed feature branch merged by an unsigned merge commit.
    await repo!.git('pull', '-q', '--rebase', 'origin', 'main');
    await repo!.git('checkout', '-q', '-b', 'feature');
    await writeFile(join(repo!.work, 'extra.yaml'), 'policies: []\n');
    await repo!.git('add', 'extra.yaml');
    await repo!.git(...signArgs(keys!.ops), 'commit', '-S', '-qm', 'signed feature');
    await repo!.git('checkout', '-q', 'main');
    // main moves on (signed) so the merge differs from both parents: its content is its own.
    await writeFile(join(repo!.work, 'main.yaml'), 'policies: []\n');
    await repo!.git('add', 'main.yaml');
    await repo!.git(...signArgs(keys!.ops), 'commit', '-S', '-qm', 'signed main');
    await repo!.git('merge', '--no-ff', '-q', '-m', 'unsigned merge', 'feature');
    await repo!.git('push', '-q', 'origin', 'main');
    const merge = (await repo!.git('rev-parse', 'HEAD')).trim();
    await webhook(d!.url, merge);
    const st = await attempted(merge);
    assert.equal(st.daemon!.lastAppliedRevision, fixed);
    assert.match(st.daemon!.lastAttemptErrors.join('\n'), /not signed/);
    // Force-push back to the first signed revision: it does not descend from the applied one.
    await repo!.git('push', '-q', '--force', 'origin', `${goodRev}:refs/heads/main`);
    await webhook(d!.url, goodRev);
    const st2 = await attempted(goodRev);
    assert.equal(st2.daemon!.lastAppliedRevision, fixed, 'a rollback is not applied');
    assert.match(st2.daemon!.lastAttemptErrors.join('\n'), /does not descend from the applied revision/);
    assert.equal((await fetch(`${d!.url}/readyz`)).status, 200);
  });
});
