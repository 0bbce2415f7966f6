// Status commits that mean something: the real daemon, polling a bare remote every 50 ms with a
// hypervisor that cannot be reached, commits status once and then stays quiet for 100 reconciles
// (no bumped transition time, no storage jitter, no pass triggered by its own push).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { type TestRepo } from '../helpers/git-repo.js';
import { offlineFleetRepo } from '../helpers/offline-fleet.js';
import { startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';
import { commitAndPush } from '../helpers/git-repo.js';
import { CLI } from '../helpers/paths.js';

describe('idle reconciles commit nothing', () => {
  let root = '';
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;
  const reconciles = () => (d!.logs().match(/"msg":"reconcile done"/g) ?? []).length;
  const statusCommits = async () => (await execa('git', ['--git-dir', repo!.bare, 'log', '--format=%s', 'main'])).stdout.split('\n').filter((s) => s.startsWith('status:')).length;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-idle-'));
    ({ repo } = await offlineFleetRepo(root));
  });
  after(async () => { await d?.stop().catch(() => undefined); await repo?.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('after the first status commit, 100 more reconciles push none', async () => {
    const stateDir = join(root, 'state');
    d = await startDaemon(repo!.bare, stateDir, ['--poll', '0.05']);
    await waitFor('first status commit', async () => (await statusCommits()) >= 1, 60_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
    const first = await statusCommits();
    const from = reconciles();
    await waitFor('100 more reconciles', async () => reconciles() >= from + 100, 180_000, 200).catch((e: Error) => { throw new Error(`${e.message} (${reconciles() - from} done)\n${d!.logs().slice(-2000)}`); });
    assert.equal(await statusCommits(), first, `status commits during 100 idle reconciles:\n${(await execa('git', ['--git-dir', repo!.bare, 'log', '-p', '-2', '--format=%s', 'main'])).stdout.slice(0, 3000)}`);
    assert.equal(first, 1, 'one status commit for the first pass');
  });

  test('daemon --once exits 0 when its reconcile succeeded and 1 when the revision is refused', async () => {
    await d?.stop();
    const once = (state: string) => execa(process.execPath, [CLI, 'daemon', '--repo', repo!.bare, '--state-dir', join(root, state), '--once', '--listen', 'off', '--cron-file', join(root, `${state}.cron`)], { reject: false, env: { NO_COLOR: '1' } });
    const ok = await once('once-good');
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
    await commitAndPush(repo!, 'broken', { 'broken.yaml': 'vms: [ {name: x, hypervisor: nowhere } ]\n' });
    const bad = await once('once-bad');
    assert.equal(bad.exitCode, 1, bad.stdout + bad.stderr);
  });

  test('a local --repo owned by another user is trusted as git safe.directory (that path only)', async (t) => {
    if (process.getuid?.() !== 0) { if (process.env.CI === 'true') throw new Error('CI=true and this test needs root (chown)'); t.skip('needs root'); return; }
    const foreign = join(root, 'foreign.git');
    await execa('git', ['clone', '-q', '--bare', repo!.bare, foreign]);
    await execa('git', ['--git-dir', foreign, 'update-ref', 'refs/heads/main', 'main~1']); // before the broken commit of the test above
    await execa('chown', ['-R', 'nobody', '--', foreign]);
    const plain = await execa('git', ['clone', '-q', '--no-checkout', foreign, join(root, 'plain-clone')], { reject: false });
    assert.match(plain.stderr, /dubious ownership/, 'git itself refuses it (the case this handles)');
    const r = await execa(process.execPath, [CLI, 'daemon', '--repo', foreign, '--state-dir', join(root, 'state-foreign'), '--once', '--no-push', '--listen', 'off', '--cron-file', join(root, 'foreign.cron')], { reject: false, env: { NO_COLOR: '1' } });
    assert.doesNotMatch(r.stdout + r.stderr, /dubious ownership/);
    assert.equal(r.exitCode, 0, r.stdout.slice(-2000) + r.stderr);
    assert.match(r.stdout, /safe\.directory/);
    assert.match(await readFile(join(root, 'state-foreign', 'git-safe.gitconfig'), 'utf8'), new RegExp(`directory = "${foreign.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
  });
});
