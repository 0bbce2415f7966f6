// `vmbackup pause` / `resume` / `pause --list` on a real state directory and a real policy repo:
// the pause lands in the state store, the act in the audit log; bad input is refused with stable
// --json codes; an expired pause is not in force; the VM must be in the applied revision.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { vmbackup } from '../helpers/cli.js';
import { commitAndPush, makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { EXAMPLE_FLEET } from '../helpers/paths.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { readPauses, setPause } from '../../src/adapters/store/pauses.js';
import { EMPTY_DAEMON_STATE, saveDaemonState } from '../../src/daemon/daemon-state.js';
import type { Pause } from '../../src/core/pause/pause.js';

const ME = `cli:${userInfo().username}`;

describe('vmbackup pause and resume', () => {
  let repo: TestRepo;
  let state: string;
  const run = (args: string[]) => vmbackup([...args, '--repo', repo.work, '--state-dir', state]);
  const audit = async (): Promise<Record<string, unknown>[]> => {
    const month = new Date().toISOString().slice(0, 7);
    const text = await readFile(join(state, 'audit', `${month}.jsonl`), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  before(async () => {
    repo = await makeRepo(EXAMPLE_FLEET);
    state = await mkdtemp(join(tmpdir(), 'vmb-pause-'));
  });
  after(async () => { await repo.cleanup(); await rm(state, { recursive: true, force: true }); });

  test('--help names the options', async () => {
    const r = await vmbackup(['pause', '--help']);
    assert.equal(r.code, 0);
    for (const o of ['--until', '--reason', '--list', '--state-dir', '--repo', '--json']) assert.ok(r.stdout.includes(o), o);
    assert.match((await vmbackup(['resume', '--help'])).stdout, /end a VM's pause now/);
  });

  test('pause: stored, audited, printed; --list shows it', async () => {
    const t0 = Date.now();
    const r = await run(['pause', 'prod-db-01', '--until', '2d', '--reason', 'kernel upgrade', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const p = (JSON.parse(r.stdout) as { pause: Pause }).pause;
    assert.equal(p.vm, 'prod-db-01');
    assert.equal(p.reason, 'kernel upgrade');
    assert.equal(p.by, ME);
    assert.ok(Math.abs(Date.parse(p.until) - (t0 + 2 * 86_400_000)) < 60_000, p.until);
    assert.deepEqual(await readPauses(await StateStore.open(state)), { 'prod-db-01': p });
    const a = (await audit()).at(-1)!;
    assert.deepEqual({ by: a.by, role: a.role, act: a.act, vm: a.vm, result: a.result, detail: a.detail }, { by: ME, role: 'cli', act: 'pause', vm: 'prod-db-01', result: 'ok', detail: `until ${p.until}: kernel upgrade` });
    const list = await run(['pause', '--list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^prod-db-01 paused until ${p.until.replace(/\./g, '\\.')} \\(\\w{3} [0-9-]+ [0-9:]+ America/New_York\\) by ${ME}: kernel upgrade$`, 'm'));
    const text = await run(['pause', 'web-server-01', '--until', '2026-12-31T00:00:00Z', '--reason', 'migration']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^web-server-01 paused until 2026-12-31T00:00:00\.000Z .* by cli:\S+: migration\nscheduled and catch-up backups of web-server-01 are held until then/);
    const json = JSON.parse((await run(['pause', '--list', '--json'])).stdout) as { pauses: Pause[] };
    assert.deepEqual(json.pauses.map((x) => x.vm), ['prod-db-01', 'web-server-01']);
  });

  test('refused: unknown VM, bad --until, bad --reason, missing options (exit 1, --json codes); nothing stored', async () => {
    const before = await readPauses(await StateStore.open(state));
    const cases: [string[], string, RegExp][] = [
      [['pause', 'no-such-vm', '--until', '1d', '--reason', 'x'], 'UNKNOWN_VM', /VM no-such-vm is not in the policy in force/],
      [['pause', 'prod-db-01', '--until', 'tomorrow', '--reason', 'x'], 'USAGE', /expected a duration/],
      [['pause', 'prod-db-01', '--until', '2020-01-01T00:00:00Z', '--reason', 'x'], 'USAGE', /is not in the future/],
      [['pause', 'prod-db-01', '--until', '91d', '--reason', 'x'], 'USAGE', /more than 90 days away/],
      [['pause', 'prod-db-01', '--until', '1d', '--reason', '  '], 'USAGE', /a reason is required/],
      [['pause', 'prod-db-01', '--until', '1d', '--reason', 'a\nb'], 'USAGE', /one line/],
      [['pause', 'prod-db-01', '--reason', 'x'], 'USAGE', /needs --until/],
      [['pause', '--until', '1d', '--reason', 'x'], 'USAGE', /name a VM/],
      [['pause', 'prod-db-01', '--list'], 'USAGE', /--list takes no VM/],
      [['resume', 'no-such-vm'], 'UNKNOWN_VM', /not in the policy in force/],
    ];
    for (const [args, code, re] of cases) {
      const r = await run([...args, '--json']);
      assert.equal(r.code, 1, args.join(' '));
      const e = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
      assert.equal(e.code, code, args.join(' '));
      assert.match(e.message, re);
      assert.match(r.stderr, re);
    }
    assert.deepEqual(await readPauses(await StateStore.open(state)), before);
  });

  test('resume: ends it, audited; a second resume says it was not paused', async () => {
    const r = await run(['resume', 'prod-db-01', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { vm: string; was?: Pause };
    assert.equal(out.was?.reason, 'kernel upgrade');
    assert.equal((await readPauses(await StateStore.open(state)))['prod-db-01'], undefined);
    const a = (await audit()).at(-1)!;
    assert.equal(a.act, 'resume');
    assert.match(String(a.detail), /^was paused until .* by cli:\S+: kernel upgrade$/);
    const again = await run(['resume', 'prod-db-01']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'prod-db-01 was not paused; nothing to resume');
  });

  test('an expired pause is not in force: not listed, resume says not paused', async () => {
    const store = await StateStore.open(state);
    await setPause(store, { vm: 'dev-test-vm', until: '2026-01-01T00:00:00.000Z', reason: 'old', by: 'cli:x', at: '2025-12-31T00:00:00.000Z' }, '2025-12-31T00:00:01.000Z');
    const list = JSON.parse((await run(['pause', '--list', '--json'])).stdout) as { pauses: Pause[] };
    assert.ok(!list.pauses.some((p) => p.vm === 'dev-test-vm'));
    assert.equal((await run(['resume', 'dev-test-vm'])).stdout, 'dev-test-vm was not paused; nothing to resume');
  });

  test('the VM must be in the applied revision, not just the working tree', async () => {
    const applied = (await repo.git('rev-parse', 'HEAD')).trim();
    const sd = await mkdtemp(join(tmpdir(), 'vmb-pause-applied-'));
    try {
      await execa('git', ['clone', '-q', repo.bare, join(sd, 'repo')]);
      const store = await StateStore.open(sd);
      await saveDaemonState(store, { ...EMPTY_DAEMON_STATE, lastAppliedRevision: applied });
      await commitAndPush(repo, 'add new-vm-01', { 'vms/new.yaml': 'vms:\n  - name: new-vm-01\n    hypervisor: hypervisor-01\n' });
      const r = await vmbackup(['pause', 'new-vm-01', '--until', '1h', '--reason', 'x', '--repo', repo.work, '--state-dir', sd, '--json']);
      assert.equal(r.code, 1, r.stdout);
      assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'UNKNOWN_VM');
      const ok = await vmbackup(['pause', 'prod-db-01', '--until', '1h', '--reason', 'x', '--repo', repo.work, '--state-dir', sd]);
      assert.equal(ok.code, 0, ok.stderr);
      const a = JSON.parse((await readFile(join(sd, 'audit', `${new Date().toISOString().slice(0, 7)}.jsonl`), 'utf8')).trim()) as { revision?: string };
      assert.equal(a.revision, applied, 'the audit entry names the applied revision');
    } finally { await rm(sd, { recursive: true, force: true }); }
  });
});
