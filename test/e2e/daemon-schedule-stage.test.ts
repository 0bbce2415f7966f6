// Schedules under the hardened unit: the real daemon (no --cron-file) stages the cron.d file or
// the systemd timers in <state-dir>/schedule, manifest last; `vmbackup schedule install` (the
// root side, here into temp dirs with a fake systemctl) installs exactly what was staged.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { commitAndPush, makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { freePort } from '../helpers/bacula.js'; // a loopback port nothing listens on
import { CLI } from '../helpers/paths.js';

describe('daemon stages the schedule; schedule install installs it', () => {
  let root = '';
  let repo: TestRepo | undefined;
  const fleet = async (scheduler: string, cronUser: string) => {
    const storage = join(root, 'storage');
    return [
      'settings:',
      `  storage_root: ${storage}`,
      `  scheduler: ${scheduler}`,
      `  cron: { user: ${cronUser}, repo_path: ${join(root, 'state/repo')} }`,
      `  ssh: { control_dir: ${join(root, 'ssh')}, connect_timeout_seconds: 2 }`,
      'hypervisors:',
      `  - { name: hv-gone, address: 127.0.0.1, ssh: { user: root, port: ${await freePort()} }, storage_root: ${storage} }`,
      'vms:',
      '  - { name: app-01, hypervisor: hv-gone, schedule: weekly, retention: { keep_last: 3 } }',
      '',
    ].join('\n');
  };
  const once = (state = 'state') => execa(process.execPath, [CLI, 'daemon', '--repo', repo!.bare, '--state-dir', join(root, state), '--once', '--listen', 'off', '--no-push'], { reject: false, env: { NO_COLOR: '1' } });
  const install = (args: string[] = []) => execa(process.execPath, [CLI, 'schedule', 'install', '--from', join(root, 'state/schedule'), '--cron-dir', join(root, 'etc/cron.d'), '--unit-dir', join(root, 'etc/systemd/system'), '--systemctl', join(root, 'bin/systemctl'), '--json', ...args], { reject: false, env: { NO_COLOR: '1', LOG: join(root, 'systemctl.log') } });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-stage-'));
    await mkdir(join(root, 'storage'), { recursive: true });
    await mkdir(join(root, 'bin'), { recursive: true });
    await writeFile(join(root, 'bin/systemctl'), '#!/bin/sh\necho "$*" >> "$LOG"\n', { mode: 0o755 });
    const src = join(root, 'seed');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'fleet.yaml'), await fleet('cron', 'vmbackup'));
    repo = await makeRepo(src);
  });
  after(async () => { await repo?.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('cron mode without --cron-file: the cron.d file is staged (not written to /etc), and installed from the stage', async () => {
    const r = await once();
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const stage = join(root, 'state/schedule');
    assert.deepEqual((await readdir(stage)).sort(), ['manifest', 'vmbackup.cron']);
    const staged = await readFile(join(stage, 'vmbackup.cron'), 'utf8');
    assert.match(staged, /^\S+ \S+ \S+ \S+ \S+ vmbackup .*backup --schedule weekly/m);
    assert.equal(JSON.parse(await readFile(join(stage, 'manifest'), 'utf8')).scheduler, 'cron');
    assert.match(r.stdout, /"msg":"configuration applied"/);
    const i = await install();
    assert.equal(i.exitCode, 0, i.stdout + i.stderr);
    assert.equal(await readFile(join(root, 'etc/cron.d/vmbackup'), 'utf8'), staged);
    assert.equal(JSON.parse(i.stdout).changed, true);
    const again = await install();
    assert.equal(JSON.parse(again.stdout).changed, false);
  });

  test('scheduler: systemd: the timers are staged; install enables them and removes the cron.d file', async () => {
    await commitAndPush(repo!, 'systemd timers', { 'fleet.yaml': await fleet('systemd', 'vmbackup') });
    const r = await once();
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const stage = join(root, 'state/schedule');
    assert.deepEqual((await readdir(stage)).sort(), ['manifest', 'vmbackup-weekly.service', 'vmbackup-weekly.timer']);
    const i = await install();
    assert.equal(i.exitCode, 0, i.stdout + i.stderr);
    assert.ok(!existsSync(join(root, 'etc/cron.d/vmbackup')));
    assert.deepEqual((await readdir(join(root, 'etc/systemd/system'))).sort(), ['vmbackup-weekly.service', 'vmbackup-weekly.timer']);
    assert.equal(await readFile(join(root, 'systemctl.log'), 'utf8'), 'daemon-reload\nenable --now -- vmbackup-weekly.timer\n');
  });

  test('cron jobs as root cannot be installed by the root installer: the revision is refused at apply, nothing staged', async () => {
    await commitAndPush(repo!, 'cron as root', { 'fleet.yaml': await fleet('cron', 'root') });
    const r = await once('state-root');
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /settings\.cron\.user is root/);
    assert.ok(!existsSync(join(root, 'state-root/schedule/manifest')));
  });
});
