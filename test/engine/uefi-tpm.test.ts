// UEFI and vTPM VMs on the lab's real libvirt: lab-uefi (OVMF, local transport) and lab-tpm
// (OVMF + swtpm TPM 2.0 on hv1, ssh transport). The backup holds the NVRAM file and the swtpm
// state, checksummed in the manifest; a restore as a new VM (and across hosts), a test-restore,
// an in-place restore and the restore of a deleted VM each give the VM its own files at libvirt's
// standard paths, and nothing ever changes or removes the original VM's NVRAM or TPM state.
// Both VMs end as up.sh made them (running, same UUID, same paths).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { domState, onHost, readManifest, sh, virsh, waitFor } from '../helpers/faults.js';
import { loadLab, type Lab, type LabVm } from '../lab/lab.js';

interface RestoreJson { name: string; host: string; disks: string[]; defined: boolean; nvram?: string; tpmState?: string; run: { status: string; error?: string; warnings: string[] } }
const SWTPM = '/var/lib/libvirt/swtpm';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('UEFI NVRAM and vTPM state: backup, restore as new, across hosts, in place, of a deleted VM, test-restore (lab-uefi, lab-tpm)', { timeout: 240_000 }, () => {
  const tag = process.pid.toString(36);
  let env: LabEnv | undefined;
  const ids = new Map<string, string>();
  const copies: { host: string; name: string }[] = [];
  const cli = (...args: string[]) => vmbackup([...args, '--repo', env!.repo, '--state-dir', env!.stateDir, '--json']);
  const vmOf = (lab: Lab, role: 'uefi' | 'tpm'): LabVm => lab.vms.find((v) => v.name === lab.roles[role])!;

  /** A file on a lab host, read through the host's own namespace (hv1's /var/lib/libvirt is its own). */
  async function hostFile(host: string, path: string): Promise<Buffer | undefined> {
    const r = await onHost(env!.lab, host, ['base64', '-w0', '--', path]);
    return r.code === 0 ? Buffer.from(r.stdout, 'base64') : undefined;
  }
  const exists = async (host: string, path: string): Promise<boolean> => (await onHost(env!.lab, host, ['test', '-e', path])).code === 0;
  const uuidOf = async (host: string, vm: string): Promise<string> => (await virsh(env!.lab, host, ['domuuid', '--domain', vm])).stdout.trim();
  const tpmState = (uuid: string): string => `${SWTPM}/${uuid}/tpm2/tpm2-00.permall`;

  /** The VM's NVRAM and TPM state as they are now (to prove they did not change). */
  async function stateOf(v: LabVm): Promise<{ uuid: string; nvram?: string; tpm?: string }> {
    const uuid = await uuidOf(v.host, v.name);
    const nv = v.nvram ? await hostFile(v.host, v.nvram.path) : undefined;
    const tp = v.tpm ? await hostFile(v.host, tpmState(uuid)) : undefined;
    return { uuid, ...(nv ? { nvram: sha(nv) } : {}), ...(tp ? { tpm: sha(tp) } : {}) };
  }

  /** lab-uefi / lab-tpm as up.sh left them: running, the described UUID, disk and NVRAM path, a TPM state. */
  async function assertAsDescribed(v: LabVm): Promise<void> {
    assert.equal(await domState(env!.lab, v.host, v.name), 'running', `${v.name} must run`);
    assert.equal(await uuidOf(v.host, v.name), v.uuid);
    const xml = (await virsh(env!.lab, v.host, ['dumpxml', '--domain', v.name, '--inactive'])).stdout;
    assert.match(xml, new RegExp(`<nvram[^>]*>${v.nvram!.path}</nvram>`), 'its NVRAM path');
    assert.ok(xml.includes(`<source file='${v.disks[0]!.path}'/>`), 'its disk');
    assert.ok(await exists(v.host, v.nvram!.path), 'its NVRAM file');
    if (v.tpm) assert.ok(await exists(v.host, tpmState(v.uuid!)), 'its TPM state');
    const aside = await onHost(env!.lab, v.host, ['sh', '-c', 'ls -d -- "$@" 2>/dev/null; true', 'ls', `${v.nvram!.path}.vmbackup-prev-`, `${v.disks[0]!.path}.vmbackup-prev-`]);
    assert.equal(aside.stdout.trim(), '', 'no moved-aside files left');
  }

  async function removeCopy(host: string, name: string): Promise<void> {
    const disks = [...(await virsh(env!.lab, host, ['domblklist', '--domain', name])).stdout.matchAll(/^\s*\S+\s+(\/\S+)$/gm)].map((m) => m[1]!);
    await virsh(env!.lab, host, ['destroy', '--domain', name]);
    await virsh(env!.lab, host, ['undefine', '--domain', name, '--nvram', '--tpm']);
    for (const d of disks) await onHost(env!.lab, host, ['rm', '-f', '--', d]);
  }

  before(async () => {
    const l = loadLab();
    if (l?.roles.uefi && l.roles.tpm) env = await labEnv(l, { isolate: true, withVms: [l.roles.uefi, l.roles.tpm], vmOverrides: { [l.roles.uefi]: { test_restore: { probe: { console: 'Shell>' } } }, [l.roles.tpm]: { test_restore: { probe: { console: 'Shell>' } } } } });
  });
  after(async () => {
    if (!env) return;
    for (const c of copies) await removeCopy(c.host, c.name);
    for (const role of ['uefi', 'tpm'] as const) {
      const v = vmOf(env.lab, role);
      if ((await domState(env.lab, v.host, v.name)) !== 'running') await virsh(env.lab, v.host, ['start', '--domain', v.name]);
    }
    await env.cleanup();
  });

  for (const role of ['uefi', 'tpm'] as const) {
    test(`${role}: the backup holds the NVRAM${role === 'tpm' ? ' and the swtpm state (over ssh)' : ''}, checksummed, copied while frozen`, async (t) => {
      const lab = labOrSkip(t); if (!lab) return;
      assert.ok(env, 'the lab has no lab-uefi/lab-tpm (re-run test/lab/up.sh)');
      const v = vmOf(lab, role);
      const r = await cli('backup', v.name);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const run = JSON.parse(r.stdout) as { backupId: string; steps: { name: string }[] };
      ids.set(v.name, run.backupId);
      const steps = run.steps.map((s) => s.name);
      assert.ok(steps.indexOf('copy-vm-state') > steps.indexOf('snapshot') && steps.indexOf('copy-vm-state') < steps.indexOf('blockcommit'), `state copied between snapshot and commit: ${steps.join(', ')}`);
      const dir = join(env!.storageDir, v.host, v.name, run.backupId);
      const m = await readManifest(dir);
      const nv = m.files.find((f) => f.kind === 'nvram');
      assert.ok(nv, 'an nvram entry');
      assert.equal(nv.source_path, v.nvram!.path);
      const nvBytes = await readFile(join(dir, nv.path));
      assert.equal(sha(nvBytes), nv.sha256);
      assert.equal(nvBytes.length, nv.size_bytes);
      assert.equal(nv.size_bytes, (await hostFile(v.host, v.nvram!.path))!.length, 'the whole NVRAM file');
      const sums = await readFile(join(dir, 'checksums.sha256'), 'utf8');
      assert.ok(sums.includes(`${nv.sha256}  ${nv.path}`), 'in checksums.sha256');
      const tp = m.files.find((f) => f.kind === 'tpm');
      if (role === 'tpm') {
        assert.ok(tp, 'a tpm entry');
        assert.equal(tp.source_path, tpmState(v.uuid!));
        assert.equal(tp.tpm_version, '2.0');
        assert.equal(sha(await readFile(join(dir, tp.path))), tp.sha256);
      } else assert.equal(tp, undefined);
      await assertAsDescribed(v);
    });

    test(`${role}: restore as a new VM${role === 'tpm' ? ' onto another host (hv1 -> local)' : ''}: its own NVRAM${role === 'tpm' ? ' and TPM state' : ''}, the original's untouched`, async (t) => {
      const lab = labOrSkip(t); if (!lab) return;
      const v = vmOf(lab, role);
      const id = ids.get(v.name); assert.ok(id, 'no backup (the backup test failed)');
      const before = await stateOf(v);
      const name = `nv-${role}-${tag}`;
      const target = 'local';
      copies.push({ host: target, name });
      const r = await cli('restore', v.name, '--backup', id, '--as', name, ...(role === 'tpm' ? ['--host', target] : []));
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout) as RestoreJson;
      assert.equal(out.nvram, `/var/lib/libvirt/qemu/nvram/${name}_VARS.fd`);
      const xml = (await virsh(lab, target, ['dumpxml', '--domain', name])).stdout;
      assert.match(xml, new RegExp(`<nvram[^>]*>${out.nvram}</nvram>`));
      assert.ok(!xml.includes(v.nvram!.path), "never the original's NVRAM path");
      const m = await readManifest(join(env!.storageDir, v.host, v.name, id));
      const copyNv = await hostFile(target, out.nvram!);
      assert.equal(sha(copyNv!), m.files.find((f) => f.kind === 'nvram')!.sha256, "the copy's NVRAM is the backup's");
      // Started only after the files are compared: firmware and swtpm write to them as soon as it runs.
      const tpmCopy = out.tpmState ? await hostFile(target, out.tpmState) : undefined;
      assert.equal((await virsh(lab, target, ['start', '--domain', name])).code, 0, 'the copy starts');
      if (role === 'tpm') {
        const uuid = await uuidOf(target, name);
        assert.notEqual(uuid, v.uuid);
        assert.equal(out.tpmState, tpmState(uuid));
        assert.equal(sha(tpmCopy!), m.files.find((f) => f.kind === 'tpm')!.sha256, "the copy's TPM state is the backup's");
        assert.match((await sh(['pgrep', '-af', 'swtpm'])).stdout, new RegExp(uuid), 'swtpm runs for the copy');
      }
      await removeCopy(target, name);
      copies.pop();
      assert.equal(await exists(target, out.nvram!), false, "undefine --nvram removed the copy's own NVRAM");
      assert.deepEqual(await stateOf(v), before, "the original's NVRAM and TPM state are unchanged");
      await assertAsDescribed(v);
    });

    test(`${role}: test-restore gives the copy its own NVRAM${role === 'tpm' ? '/TPM state' : ''} and removes only those`, async (t) => {
      const lab = labOrSkip(t); if (!lab) return;
      const v = vmOf(lab, role);
      const id = ids.get(v.name); assert.ok(id, 'no backup (the backup test failed)');
      const before = await stateOf(v);
      const swtpmBefore = (await onHost(lab, v.host, ['ls', '--', SWTPM])).stdout;
      const r = await cli('test-restore', v.name, '--backup', id);
      const ev = JSON.parse(await readFile(join(env!.storageDir, v.host, v.name, id, 'test-restore.json'), 'utf8')) as { test_name: string; result: string; checks: { name: string; ok: boolean; detail?: string }[]; cleanup: string[] };
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${JSON.stringify(ev.checks)}`);
      assert.equal(ev.result, 'ok');
      assert.ok(ev.cleanup.some((c) => c.startsWith('undefined')), ev.cleanup.join('; '));
      assert.equal(await exists(v.host, `/var/lib/libvirt/qemu/nvram/${ev.test_name}_VARS.fd`), false, "the copy's NVRAM is gone");
      assert.equal((await onHost(lab, v.host, ['ls', '--', SWTPM])).stdout, swtpmBefore, 'no TPM state left behind, none removed');
      assert.deepEqual(await stateOf(v), before, "the original's NVRAM and TPM state are unchanged");
      await assertAsDescribed(v);
    });

    test(`${role}: in place (--force): disk, NVRAM${role === 'tpm' ? ' and TPM state' : ''} back to the backup; same UUID and paths`, async (t) => {
      const lab = labOrSkip(t); if (!lab) return;
      const v = vmOf(lab, role);
      const id = ids.get(v.name); assert.ok(id, 'no backup (the backup test failed)');
      const m = await readManifest(join(env!.storageDir, v.host, v.name, id));
      await virsh(lab, v.host, ['destroy', '--domain', v.name]);
      // Changes made since the backup: a byte pattern on the disk and in the NVRAM (and the TPM state).
      assert.equal((await onHost(lab, v.host, ['qemu-io', '-f', 'qcow2', '-c', 'write -q -P 0x77 0 65536', v.disks[0]!.path])).code, 0);
      assert.equal((await onHost(lab, v.host, ['sh', '-c', 'printf changed | dd of="$1" bs=1 seek=100 conv=notrunc status=none', 'sh', v.nvram!.path])).code, 0);
      if (v.tpm) assert.equal((await onHost(lab, v.host, ['sh', '-c', 'printf changed | dd of="$1" bs=1 seek=100 conv=notrunc status=none', 'sh', tpmState(v.uuid!)])).code, 0);
      // Without --start: the firmware and swtpm write to both files as soon as the VM runs.
      const r = await cli('restore', v.name, '--backup', id, '--force');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await domState(lab, v.host, v.name), 'shut off');
      assert.equal(sha((await hostFile(v.host, v.nvram!.path))!), m.files.find((f) => f.kind === 'nvram')!.sha256, 'NVRAM as in the backup');
      if (v.tpm) assert.equal(sha((await hostFile(v.host, tpmState(v.uuid!)))!), m.files.find((f) => f.kind === 'tpm')!.sha256, 'TPM state as in the backup');
      const io = await onHost(lab, v.host, ['qemu-io', '-r', '-U', '-f', 'qcow2', '-c', 'read -q -P 0x5b 0 65536', v.disks[0]!.path]);
      assert.ok(!/verification failed/.test(io.stdout + io.stderr), 'the disk holds the backup data again');
      assert.equal((await virsh(lab, v.host, ['start', '--domain', v.name])).code, 0);
      await assertAsDescribed(v);
    });

    test(`${role}: a deleted VM (undefined with its NVRAM${role === 'tpm' ? ' and TPM state' : ''}, disk gone) comes back as it was`, async (t) => {
      const lab = labOrSkip(t); if (!lab) return;
      const v = vmOf(lab, role);
      const id = ids.get(v.name); assert.ok(id, 'no backup (the backup test failed)');
      await virsh(lab, v.host, ['destroy', '--domain', v.name]);
      assert.equal((await virsh(lab, v.host, ['undefine', '--domain', v.name, '--nvram', '--tpm'])).code, 0);
      await onHost(lab, v.host, ['rm', '-f', '--', v.disks[0]!.path]);
      assert.equal(await exists(v.host, v.nvram!.path), false);
      const r = await cli('restore', v.name, '--backup', id);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const m = await readManifest(join(env!.storageDir, v.host, v.name, id));
      assert.equal(sha((await hostFile(v.host, v.nvram!.path))!), m.files.find((f) => f.kind === 'nvram')!.sha256, "the backup's NVRAM, not a fresh one from the template");
      if (v.tpm) assert.equal(sha((await hostFile(v.host, tpmState(v.uuid!)))!), m.files.find((f) => f.kind === 'tpm')!.sha256, "the backup's TPM state, not a fresh one");
      assert.equal((await virsh(lab, v.host, ['start', '--domain', v.name])).code, 0, 'it starts on them');
      await waitFor('running', async () => (await domState(lab, v.host, v.name)) === 'running', 10_000);
      await assertAsDescribed(v);
    });
  }
});
