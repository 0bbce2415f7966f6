// Known data into a RUNNING VM's disk, through QEMU's monitor (the guest has no OS to write it):
// the way the incremental tests make changes a dirty bitmap must track. `qemu-monitor-command`
// exits 0 even when qemu-io fails, so its output is checked too.
import assert from 'node:assert/strict';
import { virsh } from './faults.js';
import type { Lab } from '../lab/lab.js';

export async function writeIntoVm(lab: Lab, host: string, vm: string, byte: string, offset: number, len: number): Promise<void> {
  const r = await virsh(lab, host, ['qemu-monitor-command', '--domain', vm, '--hmp', `qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "write -P ${byte} ${offset} ${len}"`]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /error/i, r.stdout);
}
