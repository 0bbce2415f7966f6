// A real `vmbackup backup` and `vmbackup verify` (libvirt's test driver, test:///default, where the VM
// is not defined, so the backup fails in its pre-checks) leave their lines in <state-dir>/logs/<run>.jsonl,
// readable by readRunLog; a log path planted as a symlink is not followed and the run still completes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { readRunLog } from '../../src/adapters/store/run-logs.js';

const policy = (storage: string): string => `settings:
  storage_root: ${storage}
  scheduler: cron
  time_zone: UTC
hypervisors:
  - { name: hv-local, transport: local, libvirt_uri: "test:///default" }
policies:
  - { name: std, schedule: weekly, retention: { keep_last: 3 } }
vms:
  - { name: ghost-vm, hypervisor: hv-local, policy: std }
`;

describe('CLI runs write their own run logs', () => {
  let root: string;
  let repo: TestRepo;
  let state: string;
  const run = (args: string[]) => vmbackup([...args, '--repo', repo.work, '--state-dir', state]);
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-runlogs-cli-'));
    await mkdir(join(root, 'repo'));
    await mkdir(join(root, 'storage'));
    await writeFile(join(root, 'repo', 'policy.yaml'), policy(join(root, 'storage')));
    repo = await makeRepo(join(root, 'repo'));
    state = join(root, 'state');
  });
  after(async () => { await repo.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('a failed backup: its steps and error are in its log, and only its lines', async () => {
    const r = await run(['backup', 'ghost-vm']);
    assert.notEqual(r.code, 0, r.stdout);
    const [b] = await (await StateStore.open(state)).runs({ kind: 'backup' });
    assert.ok(b, r.stderr);
    const lines = await readRunLog(state, b.id);
    assert.ok(lines?.length, `no log for ${b.id}: ${await readdir(join(state, 'logs')).catch(() => 'no logs dir')}`);
    assert.ok(lines.some((l) => l.level === 'error' && l.msg === 'step failed' && typeof l.fields.step === 'string' && typeof l.fields.err === 'string'), JSON.stringify(lines));
    assert.ok(lines.some((l) => l.msg === 'backup finished' && l.fields.status === 'failed'), JSON.stringify(lines));
    const raw = await readFile(join(state, 'logs', `${b.id}.jsonl`), 'utf8');
    assert.ok(raw.trim().split('\n').every((l) => (JSON.parse(l) as { run?: string }).run === b.id));
    assert.ok(r.stderr.includes('"msg":"step failed"'), 'stderr still has it all');
  });

  test('a verify run is logged too', async () => {
    const r = await run(['verify', 'ghost-vm']);
    assert.notEqual(r.code, 0, r.stdout);
    const [v] = await (await StateStore.open(state)).runs({ kind: 'verify' });
    assert.ok(v, r.stderr);
    const lines = await readRunLog(state, v.id);
    assert.ok(lines?.some((l) => l.msg === 'verify finished' && l.fields.status === 'failed'), JSON.stringify(lines));
  });

  test('a symlink planted at every possible log path is not followed; the run still completes', async () => {
    // The run id holds the start time in ms and the pid: plant the links for the pids of the next
    // runs is not possible, so plant the logs directory itself as a link instead.
    const elsewhere = join(root, 'elsewhere');
    await mkdir(elsewhere);
    const state2 = join(root, 'state2');
    await mkdir(state2);
    await symlink(elsewhere, join(state2, 'logs'));
    const r = await vmbackup(['backup', 'ghost-vm', '--repo', repo.work, '--state-dir', state2]);
    const [b] = await (await StateStore.open(state2)).runs({ kind: 'backup' });
    assert.equal(b?.status, 'failed', r.stderr);
    assert.deepEqual(await readdir(elsewhere), []);
    assert.match(r.stderr, /"msg":"run log not written"/);
  });
});
