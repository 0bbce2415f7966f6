// The root schedule installer's units, checked by the real `systemd-analyze`: verify with no
// warnings, and the service's exposure (a root oneshot that writes /etc and talks to PID 1).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { requireAnalyze, runAnalyze, scratchRoot } from '../helpers/systemd-analyze.js';

const read = (n: string) => readFile(join(ROOT, 'systemd', n), 'utf8');
const units = async () => ({ 'vmbackup-schedule.path': await read('vmbackup-schedule.path'), 'vmbackup-schedule.service': await read('vmbackup-schedule.service') });
const directives = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('['))
  .map((l) => { const i = l.indexOf('='); return [l.slice(0, i), l.slice(i + 1)] as const; });

describe('systemd/vmbackup-schedule.path and .service', () => {
  const roots: string[] = [];
  after(async () => { for (const r of roots) await rm(r, { recursive: true, force: true }); });

  test('systemd-analyze verify: exit 0 and no warnings at all, for both units', async (t) => {
    if (!requireAnalyze(t)) return;
    const root = await scratchRoot(await units()); roots.push(root);
    const r = runAnalyze(['verify', `--root=${root}`, 'vmbackup-schedule.path', 'vmbackup-schedule.service']);
    t.diagnostic(`rc=${r.status} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, '');
  });

  test('the harness catches a path unit naming a missing service and a bogus key', async (t) => {
    if (!requireAnalyze(t)) return;
    const u = await units();
    const root = await scratchRoot({ ...u, 'vmbackup-schedule.path': u['vmbackup-schedule.path'].replace('PathChanged=', 'PathChangedd=/x\nPathChanged=') }); roots.push(root);
    assert.match(runAnalyze(['verify', `--root=${root}`, 'vmbackup-schedule.path']).stderr, /Unknown key 'PathChangedd'|Unknown lvalue 'PathChangedd'/);
  });

  test('systemd-analyze security --offline: exposure at most 2.0 ("OK")', async (t) => {
    if (!requireAnalyze(t)) return;
    const root = await scratchRoot(await units()); roots.push(root);
    const r = runAnalyze(['security', '--offline=yes', '--threshold=20', `--root=${root}`, 'vmbackup-schedule.service']);
    const level = /Overall exposure level for vmbackup-schedule\.service: ([\d.]+)/.exec(r.stdout + r.stderr);
    t.diagnostic(`exposure: ${level?.[1]}`);
    assert.ok(level, r.stdout + r.stderr);
    assert.equal(r.status, 0, `exposure ${level[1]} is above 2.0`);
  });

  test('what the installer relies on: the staged manifest triggers it, it runs `schedule install --from` the stage, no network', async () => {
    const u = await units();
    const p = new Map(directives(u['vmbackup-schedule.path']));
    assert.equal(p.get('PathChanged'), '/var/lib/vmbackup/schedule/manifest');
    assert.equal(p.get('Unit'), 'vmbackup-schedule.service');
    assert.equal(p.get('WantedBy'), 'paths.target');
    const s = directives(u['vmbackup-schedule.service']);
    const one = (k: string) => { const v = s.filter(([key]) => key === k).map(([, v]) => v); assert.equal(v.length, 1, k); return v[0]!; };
    assert.equal(one('Type'), 'oneshot');
    assert.equal(one('ExecStart'), '/usr/bin/vmbackup schedule install --from /var/lib/vmbackup/schedule');
    assert.ok(!s.some(([k]) => k === 'User'), 'root: it writes /etc and talks to PID 1');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.deepEqual(one('ReadWritePaths').split(' ').sort(), ['/etc/cron.d', '/etc/systemd/system']);
    assert.equal(one('PrivateNetwork'), 'yes');
    assert.equal(one('IPAddressDeny'), 'any');
    assert.equal(one('NoNewPrivileges'), 'yes');
  });
});
