// Fault: a guest-controlled image that points outside itself. A qcow2 whose backing file is
// /etc/shadow (a backup would copy host secrets into the backup storage), and a qcow2 with an
// external data file. Both run as real VMs on the local libvirt; the backup must be refused at
// the pre-checks: nothing snapshotted, nothing copied, nothing published, not a byte of the
// referenced file in the storage. Everything created here is undefined and removed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import {
  assertInvariants, blockSources, defineScratchVm, faultEnv, faultsLock, listDir, repairLab, runJson, scratchDir, scratchVmPolicy, sh,
  type FaultEnv, type ScratchVm,
} from '../helpers/faults.js';
import type { Lab } from '../lab/lab.js';

/** Every byte of every file under `root`, searched for `needle`. */
async function storageContains(root: string, needle: Buffer): Promise<string[]> {
  const hits: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && (await readFile(p)).includes(needle)) hits.push(p);
    }
  };
  await walk(root);
  return hits;
}

interface Case {
  vm: string;
  what: string;
  /** Builds the image in `dir`; returns it and the bytes that must never reach the storage. */
  make(dir: string): Promise<{ image: string; secret: Buffer }>;
  refusal: RegExp;
}

const CASES: Case[] = [
  {
    vm: 'fault-hostile',
    what: 'a backing file /etc/shadow',
    make: async (dir) => {
      const image = join(dir, 'fault-hostile.qcow2');
      const r = await sh(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', '/etc/shadow', '-F', 'raw', image, '1M']);
      assert.equal(r.code, 0, r.stderr);
      // The first line of the real file (root's entry) is what a copy would carry.
      const shadow = await readFile('/etc/shadow');
      return { image, secret: shadow.subarray(0, Math.min(shadow.indexOf(0x0a) > 0 ? shadow.indexOf(0x0a) : shadow.length, 64)) };
    },
    refusal: /backing (file|chain)/,
  },
  {
    vm: 'fault-datafile',
    what: 'an external data file',
    make: async (dir) => {
      const image = join(dir, 'fault-datafile.qcow2');
      const data = join(dir, 'host-secret.raw');
      const r = await sh(['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', `data_file=${data},data_file_raw=on`, image, '1M']);
      if (r.code !== 0) throw Object.assign(new Error(`qemu-img cannot make a data_file image here: ${r.stderr}`), { skip: true });
      const secret = Buffer.from(`VMBACKUP-FAULT-HOST-SECRET-${process.pid}-${Date.now()}`);
      const fh = await open(data, 'r+');
      await fh.write(secret, 0, secret.length, 4096);
      await fh.close();
      return { image, secret };
    },
    refusal: /external data file/,
  },
];

async function hostileRun(t: import('node:test').TestContext, lab: Lab, c: Case, offline: boolean): Promise<void> {
  const dir = await scratchDir(c.vm);
  let vm: ScratchVm | undefined;
  let env: FaultEnv | undefined;
  t.after(async () => {
    if (env) await repairLab(env, []);
    await vm?.remove();
    if (env) await env.cleanup();
    await rm(dir, { recursive: true, force: true });
    const left = await sh(['virsh', '-q', '-c', 'qemu:///system', 'list', '--all', '--name']);
    assert.doesNotMatch(left.stdout, new RegExp(`^${c.vm}$`, 'm'), `${c.vm} was not removed`);
  });
  let made: { image: string; secret: Buffer };
  try { made = await c.make(dir); } catch (e) { if ((e as { skip?: boolean }).skip) { t.skip((e as Error).message); return; } throw e; }
  vm = await defineScratchVm(lab, c.vm, made.image, { start: !offline });
  env = await faultEnv(lab, { extraVms: [scratchVmPolicy(c.vm, offline ? { allow_offline: true } : {})] });

  const chk = await env.cli(['check', c.vm]);
  assert.equal(chk.code, 1, `check passed: ${chk.stdout}`);
  assert.match(chk.stdout, c.refusal);

  const r = await env.cli(['backup', c.vm, '--json']);
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr.slice(-2000)}`);
  const run = runJson(r);
  t.diagnostic(`refused: ${run.error ?? ''}`);
  assert.match(run.error ?? '', /^pre-checks failed: /);
  assert.match(run.error ?? '', c.refusal);
  assert.deepEqual(run.steps.filter((s) => !s.ok).map((s) => s.name), ['pre-checks']);
  assert.ok(!run.steps.some((s) => s.name === 'snapshot' || s.name.startsWith('copy-') || s.name === 'publish'), JSON.stringify(run.steps));
  assert.deepEqual(await listDir(join(env.storage, 'local', c.vm)), [], 'nothing written for the refused VM');
  assert.deepEqual(await storageContains(env.storage, made.secret), [], 'the referenced host file reached the backup storage');
  if (!offline) assert.equal((await blockSources(lab, 'local', c.vm)).get('vda'), made.image, 'the VM still runs on its own image');
  await assertInvariants(env, { vms: [], scratch: [{ vm: c.vm, host: 'local', dir }] });
}

describe('faults: hostile qcow2 images', () => {
  let release: (() => Promise<void>) | undefined;
  before(async () => { release = await faultsLock(); });
  after(async () => { await release?.(); });

  for (const c of CASES) {
    test(`running VM whose image has ${c.what}: refused at pre-checks, nothing copied or published`, { timeout: 90_000 }, async (t) => {
      const lab = labOrSkip(t);
      if (!lab) return;
      await hostileRun(t, lab, c, false);
    });
    test(`shut-off VM (allow_offline) whose image has ${c.what}: refused at pre-checks too`, { timeout: 90_000 }, async (t) => {
      const lab = labOrSkip(t);
      if (!lab) return;
      await hostileRun(t, lab, c, true);
    });
  }
});
