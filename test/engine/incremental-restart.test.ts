// Tracking across a VM restart, on the lab through the real CLI. `virsh destroy` + `start` (QEMU
// gets SIGTERM and saves its persistent bitmaps): the next backup is an incremental holding every
// write. QEMU SIGKILLed (a host crash): its bitmap is lost, libvirt refuses the incremental, and
// vmbackup takes a full saying why, deleting the dead checkpoint (before the fix: every later
// backup of the VM failed with "checkpoint inconsistent").
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import { writeIntoVm } from '../helpers/vm-disk-write.js';
import { defineScratchVm, faultEnv, readManifest, scratchVmPolicy, sh, virsh, type FaultEnv } from '../helpers/faults.js';
import type { Lab } from '../lab/lab.js';

describe('incremental tracking across a VM restart', { timeout: 240_000 }, () => {
  const name = `i16-${process.pid}`;
  let lab: Lab | undefined;
  let env: FaultEnv | undefined;
  let dir = '';
  let image = '';
  let removeVm: (() => Promise<void>) | undefined;
  const vmDir = (): string => join(env!.storage, 'local', name);

  async function backup(): Promise<{ id: string; kind: string; warnings: string[] }> {
    await new Promise((r) => setTimeout(r, 1100));
    const b = await env!.cli(['backup', name, '--json']);
    assert.equal(b.code, 0, `${b.stdout}\n${b.stderr.slice(-2000)}`);
    const run = JSON.parse(b.stdout) as { backupId: string; warnings: string[] };
    const m = await readManifest(join(vmDir(), run.backupId)) as unknown as { kind?: string };
    return { id: run.backupId, kind: m.kind ?? 'full', warnings: run.warnings };
  }
  const write = (byte: string, offset: number): Promise<void> => writeIntoVm(lab!, 'local', name, byte, offset, 65536);

  before(async (t) => {
    lab = labOrSkip(t as never);
    if (!lab) return;
    dir = join('/var/tmp', `i16-${process.pid}-${Date.now().toString(36)}`);
    await mkdir(dir, { recursive: true });
    image = join(dir, `${name}.qcow2`);
    for (const argv of [['qemu-img', 'create', '-q', '-f', 'qcow2', image, '256M'], ['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xab 0 4M', image]]) {
      const r = await sh(argv);
      assert.equal(r.code, 0, r.stderr);
    }
    removeVm = (await defineScratchVm(lab, name, image, { dir })).remove;
    env = await faultEnv(lab, { extraVms: [scratchVmPolicy(name, { incremental: { full_every: 5 } })] });
  });
  after(async () => {
    if (lab) {
      const cps = (await virsh(lab, 'local', ['checkpoint-list', '--domain', name, '--name'])).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      for (const cp of cps) await virsh(lab, 'local', ['checkpoint-delete', '--domain', name, '--checkpointname', cp, '--metadata']);
    }
    await removeVm?.();
    await env?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function restartHard(): Promise<void> {
    // QEMU killed outright (a host crash, the OOM killer): its dirty bitmaps were never written back.
    const pid = (await sh(['cat', '--', `/run/libvirt/qemu/${name}.pid`])).stdout.trim();
    assert.match(pid, /^\d+$/);
    await sh(['kill', '-KILL', pid]);
    for (let i = 0; i < 50 && (await virsh(lab!, 'local', ['domstate', '--domain', name])).stdout.trim() === 'running'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await virsh(lab!, 'local', ['start', '--domain', name])).code, 0);
  }

  test('destroy + start after a full: the next backup succeeds and restores the disk exactly', async (t) => {
    if (!labOrSkip(t)) return;
    const a = await backup();
    assert.equal(a.kind, 'full');
    await write('0x33', 0);
    assert.equal((await virsh(lab!, 'local', ['destroy', '--domain', name])).code, 0);
    assert.equal((await virsh(lab!, 'local', ['start', '--domain', name])).code, 0);
    await write('0x44', 1048576);
    const b = await backup();
    t.diagnostic(`after the restart: ${b.kind}; warnings: ${JSON.stringify(b.warnings)}`);
    if (b.kind === 'full') assert.ok(b.warnings.some((w) => /full/i.test(w)), `a full after the restart says why: ${JSON.stringify(b.warnings)}`);
    const out = join(dir, 'restored.qcow2');
    assert.equal((await sh(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'qcow2', '--', join(vmDir(), b.id, `${name}-vda.qcow2`), out])).code, 0);
    const probe = await sh(['qemu-io', '-r', '-f', 'qcow2', '-c', 'read -q -P 0x33 0 65536', '-c', 'read -q -P 0x44 1048576 65536', '-c', 'read -q -P 0xab 2097152 65536', out]);
    assert.equal(probe.code, 0, probe.stdout + probe.stderr);
    assert.doesNotMatch(probe.stdout, /Pattern verification failed/, 'the backup after the restart holds every write');
  });

  test('QEMU SIGKILLed after writes: the next backup still holds every write (a full with the reason, or a correct incremental)', async (t) => {
    if (!labOrSkip(t)) return;
    await backup();
    await write('0x55', 65536 * 8);
    await restartHard();
    await write('0x66', 65536 * 20);
    const c = await backup();
    t.diagnostic(`after SIGKILL: ${c.kind}; warnings: ${JSON.stringify(c.warnings)}`);
    // libvirt 9 refuses the incremental (the parent's bitmap is gone): a full, saying why, and no leftover checkpoint.
    assert.equal(c.kind, 'full');
    assert.ok(c.warnings.some((w) => /full instead of an incremental: the checkpoint vmbackup-.* can no longer be used/.test(w)), JSON.stringify(c.warnings));
    assert.ok(!c.warnings.some((w) => /could not delete/.test(w)), JSON.stringify(c.warnings));
    const cps = (await virsh(lab!, 'local', ['checkpoint-list', '--domain', name, '--name'])).stdout.split('\n').map((x) => x.trim()).filter(Boolean);
    assert.deepEqual(cps, [`vmbackup-${c.id}`], 'only the new point\'s checkpoint is left');
    const out = join(dir, 'restored-kill.qcow2');
    assert.equal((await sh(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'qcow2', '--', join(vmDir(), c.id, `${name}-vda.qcow2`), out])).code, 0);
    const probe = await sh(['qemu-io', '-r', '-f', 'qcow2', '-c', `read -q -P 0x55 ${65536 * 8} 65536`, '-c', `read -q -P 0x66 ${65536 * 20} 65536`, out]);
    assert.equal(probe.code, 0, probe.stdout + probe.stderr);
    assert.doesNotMatch(probe.stdout, /Pattern verification failed/, 'no write lost to a bitmap that QEMU never saved');
  });
});

