// Issue 13 "a pause shows in metrics": vmbackup_vm_paused{vm,hypervisor} 1/0 and its end time,
// vmbackup_vm_window_open{vm} for VMs with a window, vmbackup_adhoc_actions_total{kind,result}
// counted by recordAdhoc (the console's queue calls it); the real promtool accepts the exposition.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { MetricsRegistry } from '../../src/adapters/http/metrics-registry.js';
import type { VmStatus } from '../../src/core/status-model.js';

const st = (vm: string, extra: Partial<VmStatus> = {}): VmStatus => ({
  vm, hypervisor: 'hv1', observed: 'running', restore_points: [], history: [],
  conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
  ...extra,
});
const paused = { until: '2026-12-20T08:00:00.000Z', reason: 'disk "migration"\nweekend', by: 'api:alice' };

describe('metrics: pauses, windows, ad-hoc actions', () => {
  test('vm_paused is 1/0 per VM with its hypervisor; the end time only while paused; dropped when the pause or VM goes', () => {
    const m = new MetricsRegistry();
    m.observeFleet([st('a', { paused }), st('b')]);
    assert.equal(m.value('vmbackup_vm_paused', { vm: 'a', hypervisor: 'hv1' }), 1);
    assert.equal(m.value('vmbackup_vm_paused', { vm: 'b', hypervisor: 'hv1' }), 0);
    assert.equal(m.value('vmbackup_vm_paused_until_timestamp_seconds', { vm: 'a' }), Date.parse(paused.until) / 1000);
    assert.equal(m.value('vmbackup_vm_paused_until_timestamp_seconds', { vm: 'b' }), undefined);
    m.observeFleet([st('a')]);
    assert.equal(m.value('vmbackup_vm_paused', { vm: 'a', hypervisor: 'hv1' }), 0);
    assert.equal(m.value('vmbackup_vm_paused_until_timestamp_seconds', { vm: 'a' }), undefined, 'an expired pause loses its end time');
    assert.equal(m.value('vmbackup_vm_paused', { vm: 'b', hypervisor: 'hv1' }), undefined, 'a VM gone loses its series');
  });

  test('vm_window_open only for VMs with a window', () => {
    const m = new MetricsRegistry();
    m.observeFleet([st('a', { window: { open: false, next_start: '2026-12-05T12:00:00Z', text: 'window sat 12:00 for 30h' } }), st('b', { window: { open: true, text: 'w' } }), st('c')]);
    assert.equal(m.value('vmbackup_vm_window_open', { vm: 'a' }), 0);
    assert.equal(m.value('vmbackup_vm_window_open', { vm: 'b' }), 1);
    assert.equal(m.value('vmbackup_vm_window_open', { vm: 'c' }), undefined);
    m.observeFleet([st('a'), st('b', { window: { open: true, text: 'w' } })]);
    assert.equal(m.value('vmbackup_vm_window_open', { vm: 'a' }), undefined, 'a window removed from the policy drops the series');
  });

  test('recordAdhoc counts by kind and result, starting at 0 for the known ones', () => {
    const m = new MetricsRegistry();
    assert.equal(m.value('vmbackup_adhoc_actions_total', { kind: 'backup', result: 'ok' }), 0);
    m.recordAdhoc('backup', 'ok');
    m.recordAdhoc('backup', 'ok');
    m.recordAdhoc('restore', 'failed');
    assert.equal(m.value('vmbackup_adhoc_actions_total', { kind: 'backup', result: 'ok' }), 2);
    assert.equal(m.value('vmbackup_adhoc_actions_total', { kind: 'restore', result: 'failed' }), 1);
    m.observeFleet([]);
    assert.equal(m.value('vmbackup_adhoc_actions_total', { kind: 'backup', result: 'ok' }), 2, 'not a per-VM series: kept across fleets');
  });

  test('promtool check metrics accepts the exposition with every new family', async () => {
    if ((await execa('promtool', ['--version'], { reject: false })).exitCode !== 0) {
      assert.fail('promtool is missing (test/setup.sh installs the prometheus package)');
    }
    const m = new MetricsRegistry({ version: 'test' });
    m.observeFleet([st('a', { paused, window: { open: false, text: 'w' } }), st('b')]);
    m.recordAdhoc('test-restore', 'cancelled');
    const text = await m.scrape();
    for (const name of ['vmbackup_vm_paused', 'vmbackup_vm_paused_until_timestamp_seconds', 'vmbackup_vm_window_open', 'vmbackup_adhoc_actions_total']) {
      assert.match(text, new RegExp(`^# HELP ${name} `, 'm'));
      assert.match(text, new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'));
    }
    assert.match(text, /^vmbackup_vm_paused\{hypervisor="hv1",vm="a"\} 1$/m);
    const r = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
  });
});
