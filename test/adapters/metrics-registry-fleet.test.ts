// MetricsRegistry.observeFleet and scrape(): the families a reconcile fills (vm_info, vm_ready,
// host_reachable, counters at 0), VMs and hypervisors that leave drop their series, and collectors run at scrape time.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../src/adapters/http/metrics-registry.js';
import type { VmStatus } from '../../src/core/status-model.js';

const st = (vm: string, hypervisor: string, status: 'True' | 'False' | 'Unknown', reason: string): VmStatus => ({
  vm, hypervisor, observed: 'unknown', restore_points: [], history: [],
  conditions: [{ type: 'Ready', status, reason, message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
});

describe('MetricsRegistry fleet families', () => {
  test('observeFleet fills vm_info, vm_ready, host_reachable and counters at 0', () => {
    const m = new MetricsRegistry();
    m.observeFleet([st('a', 'hv1', 'True', 'BackupSucceeded'), st('b', 'hv2', 'Unknown', 'HostUnreachable'), st('c', 'hv2', 'True', 'Disabled')]);
    assert.equal(m.value('vmbackup_vm_info', { vm: 'a', hypervisor: 'hv1', policy: '' }), 1);
    assert.equal(m.value('vmbackup_vm_ready', { vm: 'a' }), 1);
    assert.equal(m.value('vmbackup_vm_ready', { vm: 'b' }), 0);
    assert.equal(m.value('vmbackup_host_reachable', { hypervisor: 'hv1' }), 1);
    assert.equal(m.value('vmbackup_host_reachable', { hypervisor: 'hv2' }), 0);
    assert.equal(m.value('vmbackup_backup_failure_total', { vm: 'b' }), 0);
    assert.equal(m.value('vmbackup_backup_success_total', { vm: 'c' }), 0);
    m.observeFleet([st('a', 'hv1', 'False', 'BackupFailed')]);
    assert.equal(m.value('vmbackup_vm_ready', { vm: 'a' }), 0);
    assert.equal(m.value('vmbackup_vm_ready', { vm: 'b' }), undefined, 'a VM gone loses vm_ready');
    assert.equal(m.value('vmbackup_backup_failure_total', { vm: 'b' }), undefined, 'and its counters');
    assert.equal(m.value('vmbackup_host_reachable', { hypervisor: 'hv2' }), undefined, 'a hypervisor gone loses its series');
  });

  test('scrape() runs collectors and appends extra families; a failing collector keeps the last values', async () => {
    const m = new MetricsRegistry();
    let used = 10;
    m.onCollect(() => m.setStorage({ usedBytes: used, totalBytes: 100 }));
    m.onCollect(() => { throw new Error('statfs failed'); });
    m.addFamilies(() => [{ type: 'gauge', name: 'process_resident_memory_bytes', help: 'rss', samples: [{ labels: {}, value: 5 }] }]);
    assert.match(await m.scrape(), /^vmbackup_storage_used_ratio 0\.1$/m);
    used = 50;
    const text = await m.scrape();
    assert.match(text, /^vmbackup_storage_used_ratio 0\.5$/m);
    assert.match(text, /^process_resident_memory_bytes 5$/m);
  });
});
