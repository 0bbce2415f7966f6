// runs_on: hypervisor: the scheduled job runs ON the hypervisor, on the revision the control host
// published there, and honours the pauses published beside it (<state_dir>/pauses.json) with the
// hypervisor's clock: a Bacula job or cron run of a paused VM is skipped; once resumed (`{}`), an
// expired pause or a malformed file (a warning), it runs. Real git, the built CLI, real virsh on
// libvirt's test driver (the VMs are not defined there: a backup that runs fails in its pre-checks).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { publishRevision } from '../../src/adapters/git/publish-revision.js';
import { publishPauses, PAUSES_FILE } from '../../src/adapters/agent/publish-pauses.js';
import { LocalTransport } from '../../src/adapters/transport/local.js';
import { StateStore } from '../../src/adapters/store/state-store.js';

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
  - { name: std, schedule: weekly, retention: { keep_last: 3 } }
vms:
  - { name: open-vm, hypervisor: hv-remote, policy: std }
`;

describe('runs_on: hypervisor: the published pauses hold the scheduled job on the hypervisor', () => {
  let root: string;
  let repo: TestRepo;
  let hvState: string;
  const t = new LocalTransport('hv-remote');
  const run = (args: string[]) => vmbackup([...args, '--on-hypervisor', 'hv-remote', '--state-dir', hvState]);
  const runs = async () => (await StateStore.open(hvState)).runs();
  const until = (h: number): string => new Date(Date.now() + h * 3_600_000).toISOString();
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-r4-hvpause-'));
    await mkdir(join(root, 'repo'));
    await mkdir(join(root, 'storage'));
    await writeFile(join(root, 'repo', 'policy.yaml'), hvPolicy(join(root, 'storage')));
    repo = await makeRepo(join(root, 'repo'));
    hvState = join(root, 'hv-state');
    await publishRevision(repo.work, (await repo.git('rev-parse', 'HEAD')).trim(), t, hvState);
  });
  after(async () => { await repo.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('a published pause: the Bacula job and the cron run skip the VM (exit 0, nothing recorded); notify raises no alert', async () => {
    await publishPauses(t, hvState, { 'open-vm': { vm: 'open-vm', until: until(2), reason: 'firmware update', by: 'api:alice' } });
    const job = await run(['backup', 'open-vm', '--bacula-job-id', '51']);
    assert.equal(job.code, 0, job.stderr);
    assert.match(job.stdout, /^backup open-vm on hv-remote: skipped: paused until \S+ by api:alice \(firmware update\)$/);
    const cron = await run(['backup', '--schedule', 'weekly']);
    assert.equal(cron.code, 0, cron.stderr);
    assert.match(cron.stdout, /^backup open-vm on hv-remote: skipped: paused until \S+ by api:alice \(firmware update\)$/);
    const notify = await run(['notify', 'open-vm', '--job-id', '51', '--job-status', 'Error', '--json']);
    assert.equal(notify.code, 0, notify.stderr);
    assert.match(String((JSON.parse(notify.stdout) as { held?: string }).held), /^paused until .* \(firmware update\)$/);
    assert.deepEqual(await runs(), []);
  });

  test('resumed (`{}`), expired, or a malformed file (a warning): the job runs', async () => {
    const attempts: [string, () => Promise<void>][] = [
      ['resumed', () => publishPauses(t, hvState, {})],
      ['expired', () => publishPauses(t, hvState, { 'open-vm': { vm: 'open-vm', until: until(-1), reason: 'old', by: 'api:alice' } })],
      ['malformed', () => writeFile(join(hvState, PAUSES_FILE), '{"open-vm": ')],
    ];
    let n = 60;
    for (const [what, make] of attempts) {
      await make();
      const r = await run(['backup', 'open-vm', '--bacula-job-id', String(n++)]);
      assert.equal(r.code, 1, `${what}: it ran (and failed on the test driver)\n${r.stdout}\n${r.stderr}`);
      assert.doesNotMatch(r.stdout, /skipped/, what);
      if (what === 'malformed') assert.match(r.stderr, /pauses\.json.*ignored|ignored.*pauses\.json/, r.stderr);
    }
    assert.equal((await runs()).length, 3);
  });
});
