// The daemon's reconcile reads the pauses from its state dir (observe) and holds a paused VM's
// catch-up backup with a `held` report in its log; a VM in a blackout likewise. Real daemon process
// (`--once`), real git repo with a bare remote, libvirt's test driver (its one domain, `test`).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';

const policy = (storage: string, vmPolicy: string): string => `settings:
  storage_root: ${storage}
  scheduler: cron
  time_zone: UTC
hypervisors:
  - { name: hv-local, transport: local, libvirt_uri: "test:///default" }
policies:
  - { name: std, schedule: weekly, retention: { keep_last: 3 } }
  - { name: closed, schedule: weekly, retention: { keep_last: 3 }, blackout: [{ from: 2020-01-01, to: 2099-12-31 }] }
vms:
  - { name: test, hypervisor: hv-local, policy: ${vmPolicy} }
`;

describe('the daemon holds paused VMs and VMs outside their window', () => {
  let root: string;
  const repos: TestRepo[] = [];
  const setup = async (name: string, vmPolicy: string): Promise<{ repo: TestRepo; state: string }> => {
    await mkdir(join(root, name, 'src'), { recursive: true });
    await mkdir(join(root, name, 'storage'));
    await writeFile(join(root, name, 'src', 'policy.yaml'), policy(join(root, name, 'storage'), vmPolicy));
    const repo = await makeRepo(join(root, name, 'src'));
    repos.push(repo);
    return { repo, state: join(root, name, 'state') };
  };
  const once = (repo: TestRepo, state: string) => vmbackup(['daemon', '--repo', repo.bare, '--state-dir', state, '--once', '--listen', 'off', '--no-push']);
  const held = (log: string): { vm: string; reason: string }[] => log.split('\n').filter((l) => l.includes('"backup-held"')).map((l) => JSON.parse(l) as { vm: string; reason: string });
  before(async () => { root = await mkdtemp(join(tmpdir(), 'vmb-pause-daemon-')); });
  after(async () => { for (const r of repos) await r.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('a paused VM: held until the pause ends, with who and why', async () => {
    const { repo, state } = await setup('paused', 'std');
    const p = await vmbackup(['pause', 'test', '--until', '3h', '--reason', 'disk swap', '--repo', repo.work, '--state-dir', state]);
    assert.equal(p.code, 0, p.stderr);
    const r = await once(repo, state);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const h = held(r.stdout + r.stderr);
    assert.equal(h.length, 1, r.stdout);
    assert.equal(h[0]!.vm, 'test');
    assert.match(h[0]!.reason, /^backup of test held: paused until \S+ by cli:\S+ \(disk swap\)$/);
    assert.doesNotMatch(r.stdout, /"backup:test"/);
  });

  test('a VM in a blackout: held until its next start', async () => {
    const { repo, state } = await setup('closed', 'closed');
    const r = await once(repo, state);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const h = held(r.stdout + r.stderr);
    assert.deepEqual(h.map((x) => x.reason), ['backup of test held: outside the backup window (blackout 2020-01-01..2099-12-31); next start 2100-01-01T00:00:00.000Z (Fri 2100-01-01 00:00 UTC)']);
  });
});
