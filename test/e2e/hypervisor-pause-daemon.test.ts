// Hypervisor mode, the pauses: the real daemon writes the pauses in force for hv1's VMs
// (runs_on: hypervisor) to <state_dir>/pauses.json on hv1 over ssh with each publish, and a pause
// or resume made with the CLI on the control host reaches hv1 at the next reconcile (SIGHUP here)
// although the revision did not change. The scratch VM is not on the lab (and in a blackout): no
// backup of it is ever attempted.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestRepo } from '../helpers/git-repo.js';
import { startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { vmbackup } from '../helpers/cli.js';
import { hvModeLabRepo } from '../helpers/hv-mode-lab.js';
import { loadLab } from '../lab/lab.js';

describe('hypervisor mode: pauses made on the control host reach the hypervisor', { timeout: 180_000 }, () => {
  let env: LabEnv | undefined;
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;
  // /var/tmp is the same directory on the control host and the namespace hypervisors.
  const hvState = `/var/tmp/vmb-r4-pause-e2e-${process.pid}`;
  const pausesOnHv = async (): Promise<Record<string, { until: string; reason: string; by: string }> | undefined> => {
    try { return JSON.parse(await readFile(join(hvState, 'pauses.json'), 'utf8')); } catch { return undefined; }
  };

  before(async () => {
    const lab = loadLab();
    if (!lab) return;
    env = await labEnv(lab, { isolate: true });
    ({ repo } = await hvModeLabRepo(lab, env, hvState, {
      policies: [{ name: 'closed', schedule: 'weekly', retention: { keep_last: 3 }, blackout: [{ from: '2020-01-01', to: '2099-12-31' }] }],
      vms: [{ name: 'r4-ghost', hypervisor: 'hv1', policy: 'closed' }],
    }));
  });
  after(async () => {
    await d?.stop().catch(() => undefined);
    await repo?.cleanup();
    await env?.cleanup();
    await rm(hvState, { recursive: true, force: true });
  });

  test('none → {}; vmbackup pause → on hv1 at the next reconcile; vmbackup resume → {} again', async (t) => {
    if (!labOrSkip(t) || !env || !repo) return;
    d = await startDaemon(repo.bare, env.stateDir, ['--no-push']);
    await waitFor('hv1 to get an empty pauses file with the first publish', async () => JSON.stringify(await pausesOnHv()) === '{}', 60_000);

    const p = await vmbackup(['pause', 'r4-ghost', '--until', '2h', '--reason', 'firmware update', '--state-dir', env.stateDir]);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    d.proc.kill('SIGHUP');
    const on = await waitFor('the pause to reach hv1', async () => (await pausesOnHv())?.['r4-ghost'], 60_000);
    assert.equal(on.reason, 'firmware update');
    assert.match(on.by, /^cli:/);
    assert.ok(Date.parse(on.until) > Date.now() + 3_500_000);
    assert.match(d.logs(), /pauses in force published to the hypervisor/);

    const r = await vmbackup(['resume', 'r4-ghost', '--state-dir', env.stateDir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    d.proc.kill('SIGHUP');
    await waitFor('the resume to reach hv1', async () => JSON.stringify(await pausesOnHv()) === '{}', 60_000);
  });
});
