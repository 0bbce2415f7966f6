// The console pages' view models: VM state words, the action's phase ladder, the restore wizard's
// checks and its confirmation text, and the storage banner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vmState } from '../../src/core/console/fleet-view.js';
import { actionPage } from '../../src/core/console/action-view.js';
import { checkRestore, confirmed, restoreSteps } from '../../src/core/console/restore-view.js';
import { storagePage } from '../../src/core/console/storage-view.js';
import { vmStatus } from '../web/fake-console.js';

test('state: Ready, failed, overdue, unknown, and a pause wins', () => {
  const cond = (status: 'True' | 'False' | 'Unknown', reason: string) => vmStatus('a', 'h', { conditions: [{ type: 'Ready', status, reason, message: 'm', lastTransitionTime: '' }] });
  assert.equal(vmState(cond('True', 'BackupSucceeded')).label, 'Ready');
  assert.equal(vmState(cond('False', 'BackupFailed')).label, 'failed');
  assert.equal(vmState(cond('False', 'Overdue')).label, 'overdue');
  assert.equal(vmState(cond('Unknown', 'HostUnreachable')).label, 'unknown');
  assert.equal(vmState(cond('False', 'BackupFailed'), { until: '2026-12-05T00:00:00Z', reason: 'move' }).label, 'paused');
  // The message says the end in the page's time zone, like the banner beside it (not the raw ISO time).
  assert.equal(vmState(cond('False', 'BackupFailed'), { until: '2026-12-05T00:00:00Z', reason: 'move' }, 'Europe/Berlin').message, 'until 2026-12-05 01:00: move');
});

test('action: phases before the current one are done, copying shows its percent, ok is all done', () => {
  const base = { id: 'a1', kind: 'backup', vm: 'web 1', by: 'otto', requestedAt: '' };
  const copying = actionPage({ ...base, state: 'running', phase: 'copying', percent: 42 });
  assert.equal(copying.progress, 'copying 42%');
  assert.equal(copying.percent, 42);
  assert.deepEqual(copying.phases.map((p) => p.cls), ['ph-done', 'ph-done', 'ph-done', 'ph-done', 'ph-current', 'ph-todo', 'ph-todo', 'ph-todo', 'ph-todo']);
  assert.equal(copying.phases[4]!.name, 'copying 42%');
  assert.equal(copying.vmHref, '/ui/vms/web%201');
  assert.equal(copying.finished, false);
  const done = actionPage({ ...base, state: 'ok', phase: 'done' });
  assert.equal(done.finished, true);
  assert.equal(done.percent, 100);
  assert.ok(done.phases.every((p) => p.cls === 'ph-done'));
  assert.equal(actionPage({ ...base, state: 'failed', phase: 'snapshot', detail: 'no space' }).finished, true);
});

test('restore wizard: every field checked; the confirmation says what happens; in place needs the name', () => {
  const s = vmStatus('web1', 'hv1');
  const f = { vm: 'web1', backupId: '20261202T100000Z', hypervisor: 'hv2', mode: 'new', name: 'web1-copy', network: 'none' };
  const ok = checkRestore(f, s, ['hv1', 'hv2']);
  assert.ok(ok.ok);
  assert.deepEqual(ok.choice, { vm: 'web1', backupId: '20261202T100000Z', hypervisor: 'hv2', mode: 'new', name: 'web1-copy', network: 'none' });
  const steps = restoreSteps(ok.choice, s, 'UTC');
  assert.match(steps.join('\n'), /Define a new VM named web1-copy on hv2 with no network interface at all; the original web1 is not touched/);
  assert.ok(confirmed(ok.choice, undefined));
  const bad = checkRestore({ ...f, backupId: 'x', hypervisor: 'hv9', mode: 'sideways', network: 'bridge' }, s, ['hv1']);
  assert.ok(!bad.ok);
  assert.equal(bad.errors.length, 4);
  assert.deepEqual(checkRestore({ ...f, name: 'web1' }, s, ['hv2']), { ok: false, errors: ['a new VM needs a name other than the original’s (or restore in place)'] });
  assert.deepEqual(checkRestore({ ...f, name: '../etc' }, s, ['hv2']).ok, false);
  assert.deepEqual(checkRestore({ ...f, mode: 'in-place' }, s, ['hv2']), { ok: false, errors: ["in place restores on the VM's own hypervisor (hv1)"] });
  const inPlace = checkRestore({ ...f, mode: 'in-place', hypervisor: 'hv1' }, s, ['hv1']);
  assert.ok(inPlace.ok);
  assert.equal(inPlace.choice.name, undefined);
  assert.ok(!confirmed(inPlace.choice, 'web'));
  assert.ok(confirmed(inPlace.choice, 'web1'));
  assert.match(restoreSteps(inPlace.choice, s, 'UTC').join('\n'), /Everything written to web1 since 2026-12-02 10:00 is lost/);
  assert.deepEqual(checkRestore(f, undefined, ['hv2']), { ok: false, errors: ['no VM named "web1"'] });
});

test('storage: the banner only at the alert, and the limit line at 80% of the total', () => {
  const base = { used_bytes: 10, total_bytes: 100, percent: 10, alert_percent: 80, alert: false, by_hypervisor: { a: 10 }, by_vm: { v: 10 }, history: [{ day: '2026-12-01', used_bytes: 10 }] };
  assert.equal(storagePage(base).banner, '');
  const hot = storagePage({ ...base, percent: 85, alert: true });
  assert.match(hot.banner, /85% full \(alert at 80%\)/);
  assert.match(hot.growthSvg, /class="chart-limit"><title>limit 80 B<\/title>/);
});
