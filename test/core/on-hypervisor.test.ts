// vmbackup run by a hypervisor's bacula-fd (runs_on: hypervisor) sees that hypervisor as local and
// the storage where that hypervisor mounts it; it refuses to act for a control-mode hypervisor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onHypervisor, scheduledHere } from '../../src/core/hypervisor-mode/on-hypervisor.js';
import { makeDesired } from '../fixtures/desired.js';

test('onHypervisor: local transport and the hypervisor\'s storage mount, others unchanged', () => {
  const base = makeDesired();
  const d = { ...base, settings: { ...base.settings, storageRoot: '/srv/ctl-mount' }, hypervisors: base.hypervisors.map((h, i) => (i === 0 ? { ...h, runsOn: 'hypervisor' as const, storageRoot: '/mnt/nfs-backup' } : h)) };
  const name = d.hypervisors[0]!.name;
  const r = onHypervisor(d, name);
  assert.ok('desired' in r);
  assert.equal(r.desired.hypervisors[0]!.transport, 'local');
  assert.equal(r.desired.settings.storageRoot, '/mnt/nfs-backup');
  assert.deepEqual(r.desired.settings.notifications, {}, 'no channel (and so no secret) on the hypervisor');
  assert.deepEqual(r.desired.hypervisors.slice(1), d.hypervisors.slice(1));
  assert.equal(d.hypervisors[0]!.transport, 'ssh', 'the input is not changed');
});

test('onHypervisor: refused for an unknown hypervisor and for one that runs from the control host', () => {
  const d = makeDesired();
  const r1 = onHypervisor(d, 'nope');
  assert.ok('error' in r1 && /no such hypervisor/.test(r1.error));
  const r2 = onHypervisor(d, d.hypervisors[0]!.name);
  assert.ok('error' in r2 && /runs_on: control.*nothing done here/.test(r2.error));
});

test('scheduledHere: a scheduled run takes its own VMs only (never one backed up by its hypervisor\'s own schedule twice)', () => {
  const base = makeDesired();
  const d = { ...base, hypervisors: base.hypervisors.map((h, i) => (i === 0 ? { ...h, runsOn: 'hypervisor' as const } : h)) };
  const [hv1, hv2] = [d.hypervisors[0]!.name, d.hypervisors[1]!.name];
  assert.equal(scheduledHere(d)({ hypervisor: hv1 }), false, 'the control host leaves hypervisor-mode VMs alone');
  assert.equal(scheduledHere(d)({ hypervisor: hv2 }), true);
  assert.equal(scheduledHere(d, hv1)({ hypervisor: hv1 }), true);
  assert.equal(scheduledHere(d, hv1)({ hypervisor: hv2 }), false, 'a hypervisor never backs up another one\'s VMs');
});
