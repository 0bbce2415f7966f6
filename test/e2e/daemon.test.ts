// The daemon end to end against real parts: a bare git remote, the daemon as a child process,
// the lab's real VMs (local and ssh), webhooks with HMAC, status commits on the remote.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { commitAndPush, makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { daemonState, startDaemon, waitFor, webhook, type DaemonProc } from '../helpers/daemon.js';
import { vmbackup } from '../helpers/cli.js';
import { labPolicy } from '../lab/policy-repo.js';
import type { Lab } from '../lab/lab.js';
import type { PolicyPlan } from '../../src/core/policy-diff.js';

describe('vmbackup daemon (cron mode) end to end', () => {
  let lab: Lab | undefined;
  let env: LabEnv | undefined;
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;
  let policy: Record<string, unknown> = {};
  const ids = async (vm: string, hv: string) => (await readdir(join(env!.storageDir, hv, vm)).catch(() => [])).filter((n) => /^\d{4}-\d{2}-\d{2}-\d{6}$/.test(n)).sort();
  const remoteLog = async () => (await execa('git', ['-C', repo!.bare, 'log', '--format=%s', 'main'])).stdout.split('\n');
  async function commit(msg: string, mutate: (p: Record<string, unknown>) => void): Promise<string> {
    await repo!.git('pull', '-q', '--rebase', 'origin', 'main');
    mutate(policy);
    return commitAndPush(repo!, msg, { 'lab.yaml': stringify(policy) });
  }
  const vms = () => policy.vms as Record<string, unknown>[];
  /** Status commits land on top of ours, so "applied" means the applied revision contains `rev`. */
  const applied = async (rev: string): Promise<boolean> => {
    const a = (await daemonState(env!.stateDir)).daemon?.lastAppliedRevision;
    if (!a) return false;
    return (await execa('git', ['-C', repo!.bare, 'merge-base', '--is-ancestor', rev, a], { reject: false })).exitCode === 0;
  };

  before(async () => {
    lab = (await import('../lab/lab.js')).loadLab();
    if (!lab) return;
    env = await labEnv(lab, { isolate: true });
    policy = labPolicy(lab, { controlDir: join(env.root, 'ssh'), storageRoot: env.storageDir, remoteStorageRoot: join(lab.storage.remoteDir, env.storageDir.slice(lab.storage.dir.length + 1)) });
    policy.vms = vms().filter((v) => v.name === 'lab-noos').map((v) => ({ ...v, retention: { keep_last: 4 } }));
    const src = join(env.root, 'seed');
    await (await import('node:fs/promises')).mkdir(src, { recursive: true });
    await writeFile(join(src, 'lab.yaml'), stringify(policy));
    repo = await makeRepo(src);
  });
  after(async () => { await d?.stop().catch(() => undefined); await repo?.cleanup(); await env?.cleanup(); });

  test('starts, applies the head, backs up the VM that has no backup, commits status to the remote', async (t) => {
    if (!labOrSkip(t)) return;
    d = await startDaemon(repo!.bare, env!.stateDir);
    await waitFor('readyz', async () => (await fetch(`${d!.url}/readyz`)).status === 200, 60_000);
    assert.equal((await ids('lab-noos', 'local')).length, 1, d.logs());
    await waitFor('status commit', async () => (await remoteLog())[0]!.startsWith('status: 1 ok'), 30_000);
    assert.match(await readFile(join(env!.stateDir, 'vmbackup.cron'), 'utf8'), /lab-noos/);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    assert.match(metrics, /vmbackup_backup_success_total\{vm="lab-noos"\} 1/);
  });

  test('a good commit, announced by a signed webhook: applied and its new VM backed up within seconds', async (t) => {
    if (!labOrSkip(t)) return;
    const rev = await commit('add hv1-vm1', (p) => { p.vms = [...vms(), { name: 'hv1-vm1', hypervisor: 'hv1', method: 'snapshot', priority: 5, schedule: 'weekly', retention: { keep_last: 4 } }]; });
    assert.equal(await webhook(d!.url, 'f'.repeat(40), 'wrong-secret'), 401);
    const t0 = Date.now();
    assert.equal(await webhook(d!.url, rev), 202);
    await waitFor('applied', async () => applied(rev), 30_000, 100).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-4000)}`); });
    const appliedMs = Date.now() - t0;
    assert.ok(appliedMs < 10_000, `applied ${appliedMs} ms after the webhook`);
    await waitFor('hv1-vm1 backed up', async () => (await ids('hv1-vm1', 'hv1')).length === 1, 60_000);
    assert.match(await readFile(join(env!.stateDir, 'vmbackup.cron'), 'utf8'), /hv1-vm1/);
    await waitFor('status commit for 2 VMs', async () => (await remoteLog())[0]!.startsWith('status: 2 ok'), 30_000);
  });

  test('a broken commit changes nothing, is recorded with its errors and alerted once; the fix recovers', async (t) => {
    if (!labOrSkip(t)) return;
    const good = (await daemonState(env!.stateDir)).daemon!.lastAppliedRevision!;
    const cronBefore = await readFile(join(env!.stateDir, 'vmbackup.cron'), 'utf8');
    const bad = await commit('typo', (p) => { (p.settings as Record<string, unknown>).sheduler = 'cron'; });
    assert.equal(await webhook(d!.url, bad), 202);
    const st = await waitFor('attempt recorded', async () => { const s = await daemonState(env!.stateDir); return s.daemon?.lastAttemptedRevision === bad ? s : undefined; }, 30_000).catch(async (e: Error) => { throw new Error(`${e.message} bad=${bad}\n${JSON.stringify((await daemonState(env!.stateDir)).daemon)}\n${d!.logs().slice(-3000)}`); });
    assert.ok(await applied(good) && !(await applied(bad)), 'the last good revision stays applied');
    assert.match(st.daemon!.lastAttemptErrors.join('\n'), /^lab\.yaml:\d+:\d+: error: settings\.sheduler: unknown key "sheduler"; did you mean "scheduler"\?/m);
    assert.equal(await readFile(join(env!.stateDir, 'vmbackup.cron'), 'utf8'), cronBefore);
    assert.equal((await fetch(`${d!.url}/readyz`)).status, 200, 'the last good revision stays in force');
    await webhook(d!.url, bad);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((d!.logs().match(/"event":"config-alert"/g) ?? []).length, 1, 'one alert per bad revision');
    const fixed = await commit('fix typo', (p) => { delete (p.settings as Record<string, unknown>).sheduler; });
    await webhook(d!.url, fixed);
    await waitFor('recovered', async () => applied(fixed), 30_000);
    await waitFor('recovered notification', async () => /"event":"recovered"/.test(d!.logs()), 10_000);
  });

  test('retention: the PR plan lists exactly the restore points the daemon then prunes', async (t) => {
    if (!labOrSkip(t)) return;
    for (let i = (await ids('lab-noos', 'local')).length; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      const r = await vmbackup(['backup', 'lab-noos', '--repo', join(env!.stateDir, 'repo'), '--state-dir', env!.stateDir]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const before = await ids('lab-noos', 'local');
    assert.equal(before.length, 4);
    process.kill(d!.proc.pid!, 'SIGHUP');
    await waitFor('status lists 4 points', async () => {
      await repo!.git('pull', '-q', '--rebase', 'origin', 'main');
      const s = await readFile(join(repo!.work, 'status', 'vms', 'lab-noos.yaml'), 'utf8').catch(() => '');
      return (s.match(/^ {2}- id: /gm) ?? []).length === 4;
    }, 30_000, 500);
    await repo!.git('checkout', '-q', '-b', 'pr/retention');
    policy.vms = vms().map((v) => (v.name === 'lab-noos' ? { ...v, retention: { keep_last: 3 } } : v));
    await writeFile(join(repo!.work, 'lab.yaml'), stringify(policy));
    await repo!.git('commit', '-q', '-am', 'lab-noos keeps 3');
    const p = await vmbackup(['plan', '--repo', repo!.work, '--base', 'origin/main', '--head', 'HEAD', '--format', 'json']);
    assert.equal(p.code, 2, p.stderr);
    const planned = (JSON.parse(p.stdout) as PolicyPlan).retention.find((r) => r.vm === 'lab-noos')!.wouldPrune.map((x) => x.id);
    assert.deepEqual(planned, [before[0]]);
    await repo!.git('checkout', '-q', 'main');
    await repo!.git('merge', '-q', '--ff-only', 'pr/retention');
    await repo!.git('push', '-q', 'origin', 'main');
    await webhook(d!.url, (await repo!.git('rev-parse', 'HEAD')).trim());
    await waitFor('pruned', async () => (await ids('lab-noos', 'local')).length === 3, 30_000);
    assert.deepEqual(before.filter((id) => !planned.includes(id)), await ids('lab-noos', 'local'));
  });

  test('mass prune: a commit that would delete most backups is refused by the guard', async (t) => {
    if (!labOrSkip(t)) return;
    const before = await ids('lab-noos', 'local');
    const rev = await commit('keep only one', (p) => { p.vms = vms().map((v) => (v.name === 'lab-noos' ? { ...v, retention: { keep_last: 1 } } : v)); });
    await webhook(d!.url, rev);
    await waitFor('applied', async () => applied(rev), 30_000);
    await waitFor('status says PruneRefused', async () => {
      await repo!.git('pull', '-q', '--rebase', 'origin', 'main');
      return /PruneRefused/.test(await readFile(join(repo!.work, 'status', 'vms', 'lab-noos.yaml'), 'utf8'));
    }, 30_000, 500);
    assert.deepEqual(await ids('lab-noos', 'local'), before);
  });

  test('SIGTERM: exits 0', async (t) => {
    if (!labOrSkip(t)) return;
    const code = await d!.stop('SIGTERM');
    assert.equal(code, 0, d!.logs().slice(-1500));
    d = undefined;
  });
});
