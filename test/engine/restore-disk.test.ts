// `restore --disk` on the lab with hv1-vm1 (two disks, ssh transport): a full copy sp-vm1 is
// restored (not started), its vdb is scribbled over, then vdb alone is restored into it in place
// (--latest) and as a new attached disk (--as-disk); restoring in place into the running
// hv1-vm1 is refused without touching it. Everything sp-vm1 defined or wrote is removed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { labOrSkip } from '../helpers/lab.js';
import { faultEnv, hostOf, onHost, virsh, type FaultEnv } from '../helpers/faults.js';
import type { Lab } from '../lab/lab.js';

const VM = 'hv1-vm1';
const HV = 'hv1';
const COPY = 'sp-vm1';

async function cleanCopy(lab: Lab): Promise<void> {
  await virsh(lab, HV, ['destroy', '--domain', COPY]);
  await virsh(lab, HV, ['undefine', '--domain', COPY]);
  const dir = hostOf(lab, HV).imagesDir;
  const ls = await onHost(lab, HV, ['find', dir, '-maxdepth', '1', '-name', `${COPY}-*`]);
  for (const f of ls.stdout.split('\n').filter(Boolean)) await onHost(lab, HV, ['rm', '-f', '--', f]);
}

describe('restore --disk on the lab (hv1-vm1 over ssh)', () => {
  test('one disk in place into a shut-off copy, as a new attached disk, and refused on a running VM', { timeout: 150_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    await cleanCopy(lab);
    const env: FaultEnv = await faultEnv(lab);
    t.after(async () => { await cleanCopy(lab); await env.cleanup(); });
    const dir = hostOf(lab, HV).imagesDir;
    const compare = async (a: string, b: string): Promise<number> => (await onHost(lab, HV, ['qemu-img', 'compare', '--', a, b])).code;

    const b = await env.cli(['backup', VM, '--json']);
    assert.equal(b.code, 0, `${b.stdout}\n${b.stderr.slice(-3000)}`);
    const id = (JSON.parse(b.stdout) as { backupId: string }).backupId;
    const backupVdb = `${env.remoteStorage}/${HV}/${VM}/${id}/${VM}-vdb.qcow2`;

    // A full copy, not started.
    const full = await env.cli(['restore', VM, '--backup', id, '--as', COPY]);
    assert.equal(full.code, 0, `${full.stdout}\n${full.stderr.slice(-3000)}`);
    assert.equal((await virsh(lab, HV, ['domstate', '--domain', COPY])).stdout.trim(), 'shut off');
    const copyVdb = `${dir}/${COPY}-vdb.qcow2`;
    const copyVda = `${dir}/${COPY}-vda.qcow2`;
    // Scribble over the copy's vdb: a fresh empty image of the same size.
    assert.equal((await onHost(lab, HV, ['qemu-img', 'create', '-q', '-f', 'qcow2', '--', copyVdb, '256M'])).code, 0);
    assert.notEqual(await compare(copyVdb, backupVdb), 0, 'the scribble differs from the backup');
    const vdaBefore = (await onHost(lab, HV, ['sha256sum', '--', copyVda])).stdout.split(' ')[0];

    // In place, newest verified-good backup.
    const inPlace = await env.cli(['restore', VM, '--latest', '--disk', 'vdb', '--as', COPY, '--json']);
    assert.equal(inPlace.code, 0, `${inPlace.stdout}\n${inPlace.stderr.slice(-3000)}`);
    const o = JSON.parse(inPlace.stdout) as { mode: string; path: string; backupId: string };
    assert.deepEqual([o.mode, o.path, o.backupId], ['in-place', copyVdb, id]);
    assert.equal(await compare(copyVdb, backupVdb), 0, 'vdb holds the backup again');
    assert.equal((await onHost(lab, HV, ['sha256sum', '--', copyVda])).stdout.split(' ')[0], vdaBefore, 'vda untouched');
    const leftovers = await onHost(lab, HV, ['find', dir, '-maxdepth', '1', '-name', `${COPY}-*.vmbackup-*`]);
    assert.equal(leftovers.stdout.trim(), '', 'no aside or temporary file left');

    // As a new disk next to the copy's disks, attached (persistently) as the next free target.
    const asNew = await env.cli(['restore', VM, '--backup', id, '--disk', 'vdb', '--as', COPY, '--as-disk', `${COPY}-vdb-restored.qcow2`, '--json']);
    assert.equal(asNew.code, 0, `${asNew.stdout}\n${asNew.stderr.slice(-3000)}`);
    const n = JSON.parse(asNew.stdout) as { mode: string; path: string; attachedAs?: string };
    assert.deepEqual([n.mode, n.path, n.attachedAs], ['new-disk', `${dir}/${COPY}-vdb-restored.qcow2`, 'vdc']);
    assert.equal(await compare(n.path, backupVdb), 0);
    const blk = (await virsh(lab, HV, ['domblklist', '--domain', COPY, '--inactive'])).stdout;
    assert.match(blk, new RegExp(`vdc\\s+${n.path.replace(/[.]/g, '\\.')}`));
    const again = await env.cli(['restore', VM, '--backup', id, '--disk', 'vdb', '--as', COPY, '--as-disk', `${COPY}-vdb-restored.qcow2`]);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /already exists/);

    // In place into the running hv1-vm1: refused, nothing touched.
    const srcs = (await virsh(lab, HV, ['domblklist', '--domain', VM])).stdout;
    const refused = await env.cli(['restore', VM, '--backup', id, '--disk', 'vdb']);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /hv1-vm1 is running on hv1; shut it off to restore vdb in place, or use --as-disk NAME/);
    assert.equal((await virsh(lab, HV, ['domblklist', '--domain', VM])).stdout, srcs);

    // Argument checks.
    const none = await env.cli(['restore', VM, '--disk', 'vdb']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /give --backup ID or --latest/);
    const missing = await env.cli(['restore', VM, '--backup', id, '--disk', 'vdz', '--as', COPY]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /has no disk vdz \(it has: vda, vdb\)/);
  });
});

describe('nextFreeTarget', () => {
  test('the first unused name with the same prefix, as libvirt counts (…z, aa, ab …)', async () => {
    const { nextFreeTarget } = await import('../../src/engine/restore-disk.js');
    assert.equal(nextFreeTarget('vd', ['vda', 'vdb']), 'vdc');
    assert.equal(nextFreeTarget('vd', ['vdb']), 'vda');
    assert.equal(nextFreeTarget('sd', ['vda', 'sda']), 'sdb');
    const all = Array.from({ length: 26 }, (_, i) => `vd${String.fromCharCode(97 + i)}`);
    assert.equal(nextFreeTarget('vd', all), 'vdaa');
  });
});
