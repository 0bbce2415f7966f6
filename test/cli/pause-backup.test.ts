// Scheduled runs honour pauses and windows: a Bacula job (`backup <vm> --bacula-job-id`) or a cron
// run (`backup --schedule`) of a held VM takes no backup and exits 0, `notify` raises no alert for
// it, a manual `backup <vm>` still runs with a warning. Real git repo, real state dir, real virsh
// on libvirt's test driver (test:///default: the VMs below are not defined there, so a backup that
// does run fails at once in its pre-checks, which is how these tests see that it ran).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { setPause } from '../../src/adapters/store/pauses.js';

const policy = (storage: string): string => `settings:
  storage_root: ${storage}
  scheduler: cron
  time_zone: UTC
hypervisors:
  - { name: hv-local, transport: local, libvirt_uri: "test:///default" }
policies:
  - { name: std, schedule: weekly, retention: { keep_last: 3 } }
  - name: closed
    schedule: weekly
    retention: { keep_last: 3 }
    blackout: [{ from: 2020-01-01, to: 2099-12-31 }]
vms:
  - { name: paused-vm, hypervisor: hv-local, policy: std }
  - { name: closed-vm, hypervisor: hv-local, policy: closed }
  - { name: other-vm, hypervisor: hv-local, policy: std, schedule: daily }
`;

const hvPolicy = (storage: string): string => `settings:
  storage_root: ${storage}
  scheduler: bacula
  time_zone: UTC
  bacula:
    password: { env: BACULA_DIR_PASSWORD }
    client: { name: bacula-fd, password: { env: FD_PW } }
    storage: { name: bacula-sd, password: { env: SD_PW } }
hypervisors:
  - { name: hv-remote, address: 127.0.0.1, transport: local, libvirt_uri: "test:///default", runs_on: hypervisor, fd_password: { env: HV_FD_PW } }
policies:
  - { name: closed, schedule: weekly, retention: { keep_last: 3 }, blackout: [{ from: 2020-01-01, to: 2099-12-31 }] }
  - { name: std, schedule: weekly, retention: { keep_last: 3 } }
vms:
  - { name: closed-vm, hypervisor: hv-remote, policy: closed }
  - { name: open-vm, hypervisor: hv-remote, policy: std }
`;

describe('scheduled runs honour pauses and windows', () => {
  let root: string;
  let repo: TestRepo;
  let hvRepo: TestRepo;
  let state: string;
  const run = (args: string[], r = repo, sd = state) => vmbackup([...args, '--repo', r.work, '--state-dir', sd]);
  const runs = async (sd = state) => (await StateStore.open(sd)).runs();
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-pause-backup-'));
    for (const [dir, text] of [['repo', policy(join(root, 'storage'))], ['hv-repo', hvPolicy(join(root, 'storage'))]] as const) {
      await mkdir(join(root, dir));
      await writeFile(join(root, dir, 'policy.yaml'), text);
    }
    await mkdir(join(root, 'storage'));
    repo = await makeRepo(join(root, 'repo'));
    hvRepo = await makeRepo(join(root, 'hv-repo'));
    state = join(root, 'state');
    const now = new Date().toISOString();
    await setPause(await StateStore.open(state), { vm: 'paused-vm', until: new Date(Date.now() + 3_600_000).toISOString(), reason: 'disk swap', by: 'cli:alice', at: now }, now);
  });
  after(async () => { await repo.cleanup(); await hvRepo.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('a Bacula job of a paused VM: skipped, exit 0, nothing recorded', async () => {
    const r = await run(['backup', 'paused-vm', '--bacula-job-id', '41']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^backup paused-vm on hv-local: skipped: paused until \S+ by cli:alice \(disk swap\)$/);
    assert.match(r.stderr, /"event":"backup-skipped"/);
    assert.deepEqual(await runs(), []);
  });

  test('a Bacula job of a VM in a blackout: skipped with the next start', async () => {
    const r = await run(['backup', 'closed-vm', '--bacula-job-id', '42', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { kind: 'backup', vm: 'closed-vm', hypervisor: 'hv-local', status: 'skipped', reason: 'outside the backup window (blackout 2020-01-01..2099-12-31); next start 2100-01-01T00:00:00.000Z (Fri 2100-01-01 00:00 UTC)', until: '2100-01-01T00:00:00.000Z' });
    assert.deepEqual(await runs(), []);
  });

  test('a cron run of the schedule: both held VMs skipped, exit 0', async () => {
    const r = await run(['backup', '--schedule', 'weekly']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      'backup closed-vm on hv-local: skipped: outside the backup window (blackout 2020-01-01..2099-12-31); next start 2100-01-01T00:00:00.000Z (Fri 2100-01-01 00:00 UTC)',
      `backup paused-vm on hv-local: skipped: ${/paused until \S+ by cli:alice \(disk swap\)/.exec(r.stdout)?.[0] ?? 'paused …'}`,
    ].join('\n'));
    assert.deepEqual(await runs(), []);
  });

  test('notify after a failed job of a paused VM (its check failed): no alert, nothing recorded; a VM not held is alerted', async () => {
    const held = await run(['notify', 'paused-vm', '--job-id', '43', '--job-status', 'Error', '--json']);
    assert.equal(held.code, 0, held.stderr);
    const h = JSON.parse(held.stdout) as { notified: boolean; held?: string };
    assert.equal(h.notified, false);
    assert.match(h.held ?? '', /^paused until .* \(disk swap\)$/);
    assert.deepEqual(await runs(), []);
    const other = await run(['notify', 'other-vm', '--job-id', '44', '--job-status', 'Error', '--json']);
    assert.equal(other.code, 0, other.stderr);
    assert.equal((JSON.parse(other.stdout) as { notified: boolean }).notified, true);
    assert.deepEqual((await runs()).map((x) => `${x.vm}:${x.status}`), ['other-vm:failed']);
  });

  test('runs_on: hypervisor: notify of a held VM\'s job with no restore point is no failure; an open VM\'s is', async () => {
    const sd = join(root, 'hv-state');
    const held = await run(['notify', 'closed-vm', '--job-id', '45', '--job-status', 'OK', '--json'], hvRepo, sd);
    assert.equal(held.code, 0, held.stderr);
    assert.equal((JSON.parse(held.stdout) as { run: string }).run, 'skipped');
    assert.deepEqual(await runs(sd), []);
    const open = await run(['notify', 'open-vm', '--job-id', '46', '--job-status', 'OK', '--json'], hvRepo, sd);
    assert.equal(open.code, 1);
    assert.equal((JSON.parse(open.stdout) as { run: string }).run, 'failed');
  });

  test('a manual backup of a paused VM runs anyway, with a warning', async () => {
    const r = await run(['backup', 'paused-vm']);
    assert.match(r.stderr, /^vmbackup: warning: paused-vm is held \(paused until \S+ by cli:alice \(disk swap\)\); a manual backup runs anyway$/m);
    assert.equal(r.code, 1, 'it ran, and failed on the test driver (no such VM there)');
    assert.ok((await runs()).some((x) => x.vm === 'paused-vm' && x.kind === 'backup'), 'a run was recorded');
  });

  test('an expired pause no longer holds a Bacula job', async () => {
    const sd = join(root, 'expired-state');
    await setPause(await StateStore.open(sd), { vm: 'paused-vm', until: '2026-01-01T00:00:00.000Z', reason: 'old', by: 'cli:alice', at: '2025-12-31T00:00:00.000Z' }, '2025-12-31T00:00:01.000Z');
    const r = await run(['backup', 'paused-vm', '--bacula-job-id', '47'], repo, sd);
    assert.equal(r.code, 1, 'not skipped: it ran (and failed on the test driver)');
    assert.doesNotMatch(r.stdout, /skipped/);
    assert.doesNotMatch(r.stderr, /warning: paused-vm is held/);
  });
});
