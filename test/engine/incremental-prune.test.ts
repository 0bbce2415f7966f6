// Chain-aware retention on the lab, through the real CLI: a scratch running VM with
// `incremental: { full_every: 2 }` and `keep_last: 1` gets full A, incremental B (on A), full C,
// incremental D (on C), each verified. `vmbackup prune` then keeps D by the rule and C as
// `base of D`, and deletes B before A (children first); the kept chain still restores the disk.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import { writeIntoVm } from '../helpers/vm-disk-write.js';
import { defineScratchVm, faultEnv, readManifest, scratchVmPolicy, sh, virsh, type FaultEnv } from '../helpers/faults.js';
import type { Lab } from '../lab/lab.js';

describe('chain-aware retention: a real prune at chain boundaries', { timeout: 240_000 }, () => {
  const name = `i15-${process.pid}`;
  let lab: Lab | undefined;
  let env: FaultEnv | undefined;
  let dir = '';
  let removeVm: (() => Promise<void>) | undefined;
  const vmDir = (): string => join(env!.storage, 'local', name);

  async function backupAndVerify(): Promise<{ id: string; kind: string; parent?: string }> {
    await new Promise((r) => setTimeout(r, 1100)); // backup ids have a resolution of one second
    const b = await env!.cli(['backup', name, '--json']);
    assert.equal(b.code, 0, `${b.stdout}\n${b.stderr.slice(-2000)}`);
    const id = (JSON.parse(b.stdout) as { backupId: string }).backupId;
    const v = await env!.cli(['verify', name, '--backup', id, '--json']);
    assert.equal(v.code, 0, `${v.stdout}\n${v.stderr.slice(-2000)}`);
    const m = await readManifest(join(vmDir(), id)) as unknown as { kind?: string; parent_backup_id?: string };
    return { id, kind: m.kind ?? 'full', ...(m.parent_backup_id ? { parent: m.parent_backup_id } : {}) };
  }
  const write = (byte: string, offset: number): Promise<void> => writeIntoVm(lab!, 'local', name, byte, offset, 65536);

  before(async (t) => {
    lab = labOrSkip(t as never);
    if (!lab) return;
    dir = join('/var/tmp', `i15-${process.pid}-${Date.now().toString(36)}`);
    await mkdir(dir, { recursive: true });
    const image = join(dir, `${name}.qcow2`);
    for (const argv of [['qemu-img', 'create', '-q', '-f', 'qcow2', image, '256M'], ['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xab 0 4M', image]]) {
      const r = await sh(argv);
      assert.equal(r.code, 0, r.stderr);
    }
    removeVm = (await defineScratchVm(lab, name, image, { dir })).remove;
    env = await faultEnv(lab, {
      extraVms: [scratchVmPolicy(name, { incremental: { full_every: 2 }, retention: { keep_last: 1 } })],
      mutate: (p) => { p.settings.allow_mass_prune = true; }, // 2 of 4 points is over the guard's 25%
    });
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

  test('keep_last 1 keeps the newest incremental and its full (base of), prunes the older chain child first', async (t) => {
    if (!labOrSkip(t)) return;
    const a = await backupAndVerify();
    await write('0x11', 0);
    const b = await backupAndVerify();
    const c = await backupAndVerify();
    await write('0x22', 1048576);
    const d = await backupAndVerify();
    assert.deepEqual([a.kind, b.kind, b.parent, c.kind, d.kind, d.parent], ['full', 'incremental', a.id, 'full', 'incremental', c.id], 'full_every 2: full, incremental, full, incremental');

    const dry = await env!.cli(['prune', name, '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    const planned = (JSON.parse(dry.stdout) as { vms: { prune: { id: string }[] }[] }).vms[0]!.prune.map((x) => x.id);
    assert.deepEqual(planned, [a.id, b.id], 'C is not pruned although keep_last 1 keeps only D: it is the base of D');

    const p = await env!.cli(['prune', name, '--json']);
    assert.equal(p.code, 0, `${p.stdout}\n${p.stderr.slice(-2000)}`);
    assert.deepEqual((await readdir(vmDir())).filter((f) => /^\d{4}-/.test(f)).sort(), [c.id, d.id], 'A and B pruned, C kept as the base of D');

    // The kept chain restores the whole disk.
    const out = join(dir, 'restored.qcow2');
    const conv = await sh(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'qcow2', '--', join(vmDir(), d.id, `${name}-vda.qcow2`), out]);
    assert.equal(conv.code, 0, conv.stderr);
    const probe = await sh(['qemu-io', '-r', '-f', 'qcow2', '-c', 'read -q -P 0x22 1048576 65536', '-c', 'read -q -P 0x11 0 65536', out]);
    assert.equal(probe.code, 0, probe.stdout + probe.stderr);
    assert.doesNotMatch(probe.stdout, /Pattern verification failed/);
  });
});
