// `vmbackup schedule install` as a child process on real temp dirs: what the daemon stages is
// installed, nothing changes the second time, a scheduler switch removes what vmbackup installed
// (only that), and a tampered stage is refused with nothing changed. systemctl is a fake first on
// PATH recording its argv: there is no systemd PID 1 in the sandbox to enable timers with.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSystemd } from '../../src/core/render-systemd.js';
import { renderCron } from '../../src/core/render.js';
import { STAGED_CRON } from '../../src/core/schedule-install-check.js';
import { stageSchedule } from '../../src/adapters/schedule-stage.js';
import { makeDesired, readTemplates } from '../fixtures/desired.js';
import { vmbackup } from '../helpers/cli.js';

let root = '';
const dirs = () => ({ stage: join(root, 'state/schedule'), cron: join(root, 'etc/cron.d'), units: join(root, 'etc/systemd/system'), log: join(root, 'systemctl.log') });
const units = renderSystemd(makeDesired({ scheduler: 'systemd' }));
const cronDesired = makeDesired({ scheduler: 'cron' });
cronDesired.settings.cron.user = 'vmbackup';
const cron = renderCron(cronDesired, readTemplates())[0]!.content;

async function install(): Promise<{ code: number; json: Record<string, unknown>; calls: string[][]; stderr: string }> {
  const d = dirs();
  await rm(d.log, { force: true });
  const r = await vmbackup(['schedule', 'install', '--from', d.stage, '--cron-dir', d.cron, '--unit-dir', d.units, '--json'], { env: { PATH: `${join(root, 'bin')}:${process.env.PATH}`, LOG: d.log } });
  const calls = (await readFile(d.log, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => l.split('\t').slice(0, -1));
  return { code: r.code, json: JSON.parse(r.stdout || '{}') as Record<string, unknown>, calls, stderr: r.stderr };
}

describe('vmbackup schedule install', () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-sched-install-'));
    const d = dirs();
    for (const p of [d.cron, d.units, join(root, 'bin')]) await mkdir(p, { recursive: true });
    await writeFile(join(root, 'bin/systemctl'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\t" "$a"; done >> "$LOG"\necho >> "$LOG"\n', { mode: 0o755 });
    // Not vmbackup's (no generated-by header): never removed although its name matches.
    await writeFile(join(d.units, 'vmbackup-local.service'), '[Service]\nExecStart=/bin/true\n');
  });
  after(async () => { await rm(root, { recursive: true, force: true }); });

  test('systemd: installs the staged units, daemon-reload, enable --now -- the timers', async () => {
    await stageSchedule(dirs().stage, 'systemd', units);
    const r = await install();
    assert.equal(r.code, 0, r.stderr);
    const timers = units.map((f) => f.path).filter((n) => n.endsWith('.timer'));
    assert.deepEqual(r.calls, [['daemon-reload'], ['enable', '--now', '--', ...timers]]);
    for (const f of units) assert.equal(await readFile(join(dirs().units, f.path), 'utf8'), f.content);
  });

  test('the same stage again: nothing written, systemctl not run', async () => {
    const r = await install();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, []);
    assert.equal(r.json.changed, false);
  });

  test('hostile stages are refused, nothing installed or removed', async () => {
    const d = dirs();
    const before = await readdir(d.units);
    const svc = units.find((f) => f.path.endsWith('.service'))!;
    const hostile: [string, RegExp, () => Promise<unknown>][] = [
      ['User=root', /User= must be vmbackup/, () => stageSchedule(d.stage, 'systemd', units.map((f) => (f === svc ? { ...f, content: f.content.replace('User=vmbackup', 'User=root') } : f)))],
      ['ExecStart=+', /prefix runs with privileges/, () => stageSchedule(d.stage, 'systemd', units.map((f) => (f === svc ? { ...f, content: f.content.replace('ExecStart=', 'ExecStart=+') } : f)))],
      ['a cron line for root', /runs as "root"/, () => stageSchedule(d.stage, 'cron', [{ path: STAGED_CRON, content: `${cron}\n* * * * * root /bin/sh -c id\n` }])],
      ['a staged file that is a symlink', /is a symbolic link/, async () => {
        await stageSchedule(d.stage, 'systemd', units);
        await rm(join(d.stage, svc.path));
        await symlink('/etc/passwd', join(d.stage, svc.path));
      }],
      ['a name with ../', /not a vmbackup-<name>/, async () => {
        await stageSchedule(d.stage, 'systemd', units);
        await writeFile(join(d.stage, 'manifest'), JSON.stringify({ scheduler: 'systemd', files: ['../../../etc/x.service'] }));
      }],
      ['a content change the manifest does not cover', /does not match the manifest/, async () => {
        await stageSchedule(d.stage, 'systemd', units);
        await writeFile(join(d.stage, svc.path), svc.content.replace('User=vmbackup', 'User=vmbackup\nUser=root'));
      }],
    ];
    for (const [what, reason, stage] of hostile) {
      await rm(d.stage, { recursive: true, force: true });
      await stage();
      const r = await install();
      assert.equal(r.code, 1, what);
      assert.equal((r.json.error as { code?: string } | undefined)?.code, 'VMB_SCHEDULE_REFUSED', `${what}: ${JSON.stringify(r.json)}`);
      assert.match(r.stderr, reason, what);
      assert.deepEqual(r.calls, [], what);
      assert.deepEqual(await readdir(d.units), before, what);
      for (const f of units) assert.equal(await readFile(join(d.units, f.path), 'utf8'), f.content, what);
    }
    // The stage directory itself a symlink.
    await rm(d.stage, { recursive: true, force: true });
    await stageSchedule(join(root, 'elsewhere'), 'systemd', units);
    await symlink(join(root, 'elsewhere'), d.stage);
    const r = await install();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a directory \(a symbolic link is refused\)/);
    await rm(d.stage);
  });

  test('switch to cron: the cron.d file is installed, vmbackup\'s timers disabled and removed, the operator\'s own unit kept', async () => {
    const d = dirs();
    await stageSchedule(d.stage, 'cron', [{ path: STAGED_CRON, content: cron }]);
    const r = await install();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(join(d.cron, 'vmbackup'), 'utf8'), cron);
    const timers = units.map((f) => f.path).filter((n) => n.endsWith('.timer'));
    assert.deepEqual(r.calls, [['disable', '--now', '--', ...timers], ['daemon-reload']]);
    assert.deepEqual(await readdir(d.units), ['vmbackup-local.service']);
  });

  test('switch to bacula: the cron.d file vmbackup wrote is removed', async () => {
    const d = dirs();
    await stageSchedule(d.stage, 'bacula', []);
    const r = await install();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(d.cron), []);
    assert.deepEqual(r.calls, []);
  });
});
