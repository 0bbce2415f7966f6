// Fault: silent corruption on the backup storage. One byte flipped in the middle of a disk image
// (and, separately, in the VM's XML, and in checksums.sha256): `verify` exits 1 naming the file,
// verification.json says failed, `backups` lists it as failed, and `restore` / `test-restore`
// refuse it. The good backup beside it still verifies. The VM is a private clone of lab-noos.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import { assertInvariants, cloneNoos, faultEnv, faultsLock, flipByte, goodBackup, hostOf, repairLab, scratchVmPolicy, sh, sleep, virsh } from '../helpers/faults.js';

describe('faults: bit flip on the backup storage', () => {
  let release: (() => Promise<void>) | undefined;
  before(async () => { release = await faultsLock(); });
  after(async () => { await release?.(); });

  for (const [what, fileOf, reasonOf] of [
    ['the disk image', (vm: string) => `${vm}-vda.qcow2`, (vm: string) => new RegExp(`${vm}-vda\\.qcow2: checksum mismatch`)],
    ['the VM XML', (vm: string) => `${vm}.xml`, (vm: string) => new RegExp(`${vm}\\.xml: checksum mismatch`)],
    ['checksums.sha256', () => 'checksums.sha256', () => /checksums\.sha256 and the manifest disagree/],
  ] as const) {
    test(`one byte flipped in ${what}: verify fails naming it, recorded as failed, restore refused`, { timeout: 90_000 }, async (t) => {
      const lab = labOrSkip(t);
      if (!lab) return;
      const noos = await cloneNoos(lab, 'flip');
      const VM = noos.name;
      const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(VM)] });
      const restoreName = `fault-restore-${process.pid}`;
      t.after(async () => {
        // Only if the engine wrongly restored: remove what it made.
        await virsh(lab, 'local', ['destroy', '--domain', restoreName]);
        await virsh(lab, 'local', ['undefine', '--domain', restoreName]);
        await sh(['sh', '-c', `rm -f ${hostOf(lab, 'local').labImagesDir}/${restoreName}-*`]);
        await repairLab(env, [noos.ref]);
        await env.cleanup();
        await noos.cleanup();
      });
      const file = fileOf(VM);
      const reason = reasonOf(VM);
      const good = await goodBackup(env, VM);
      await sleep(1100);
      const bad = await goodBackup(env, VM);
      const dir = env.backupPath(VM, bad);
      let at: number;
      if (file === 'checksums.sha256') {
        // Flip a hex digit of the image's line, keeping the line well-formed.
        const text = await readFile(join(dir, file), 'utf8');
        at = text.indexOf(`  ${VM}-vda.qcow2`) - 10;
        const ch = text[at]!;
        await writeFile(join(dir, file), text.slice(0, at) + (ch === '0' ? '1' : '0') + text.slice(at + 1));
      } else {
        at = await flipByte(join(dir, file));
      }
      t.diagnostic(`flipped ${file} at byte ${at}`);

      const v = await env.cli(['verify', VM, '--backup', bad]);
      assert.equal(v.code, 1, `${v.stdout}\n${v.stderr.slice(-2000)}`);
      assert.match(v.stdout, new RegExp(`${bad}: FAILED`));
      assert.match(v.stdout, reason);
      const rec = JSON.parse(await readFile(join(dir, 'verification.json'), 'utf8')) as { result: string; problems: string[] };
      assert.equal(rec.result, 'failed');
      assert.ok(rec.problems.some((p) => reason.test(p)), JSON.stringify(rec.problems));

      const list = await env.cli(['backups', VM]);
      assert.equal(list.code, 0, `backups: ${list.stdout}\n${list.stderr.slice(-2000)}`);
      assert.match(list.stdout, new RegExp(`^${bad} .*verified: failed`, 'm'));
      assert.doesNotMatch(list.stdout, new RegExp(`^${good} .*verified: failed`, 'm'));
      const listJson = JSON.parse((await env.cli(['backups', VM, '--json'])).stdout) as { id: string; verified: string }[];
      assert.equal(listJson.find((b) => b.id === bad)?.verified, 'failed');

      const before = (await readdir(hostOf(lab, 'local').labImagesDir)).sort();
      const rs = await env.cli(['restore', VM, '--backup', bad, '--as', restoreName]);
      assert.equal(rs.code, 1, `${rs.stdout}\n${rs.stderr.slice(-2000)}`);
      assert.match(rs.stdout, new RegExp(`backup ${bad} failed verification, refusing to restore it: .*`));
      assert.match(rs.stdout, reason);
      const tr = await env.cli(['test-restore', VM, '--backup', bad]);
      assert.equal(tr.code, 1, `${tr.stdout}\n${tr.stderr.slice(-2000)}`);
      assert.match(tr.stdout + tr.stderr, /verification|verif/i);
      assert.equal((await virsh(lab, 'local', ['domstate', '--domain', restoreName])).code, 1, `no VM ${restoreName} was defined`);
      assert.deepEqual((await readdir(hostOf(lab, 'local').labImagesDir)).sort(), before, 'no disk was copied into the images dir');
      assert.ok(!(await virsh(lab, 'local', ['list', '--all', '--name'])).stdout.includes(`${VM}-restoretest`), 'no test-restore VM left');

      await assertInvariants(env, { vms: [noos.ref], verify: [{ vm: VM, id: good }] });
    });
  }
});
