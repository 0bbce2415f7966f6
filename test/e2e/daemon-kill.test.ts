// The daemon SIGKILLed in the middle of a backup (OOM killer, a host crash, kill -9), then started
// again: what the killed run left (the VM on its overlay, a `.partial`, an orphaned qemu-img, a lock
// naming a dead pid, a run record still "running") is found and cleaned by the next daemon, the run
// is recorded as interrupted (state.json and status), and the catch-up backup succeeds.
// Cron mode: the daemon backs up in-process. Three copy paths: `image_writer: qemu-img` with a
// rate-limited qemu-img first on the first daemon's PATH (the copy really runs when the daemon is
// killed, and its qemu-img child outlives it), the default streaming writer (in-process, lab-noos),
// and qemu-img on an ssh hypervisor (hv1-vm1, two disks).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { labEnv, labOrSkip } from '../helpers/lab.js';
import { makeRepo } from '../helpers/git-repo.js';
import { daemonState, startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';
import { blockSources, convertsInto, domState, findPartials, hostOf, repairLab, scratchDir, slowQemuImg, waitQuiet, type FaultEnv } from '../helpers/faults.js';
import { labPolicy } from '../lab/policy-repo.js';
import { labVm, type Lab } from '../lab/lab.js';
import type { TestContext } from 'node:test';

const ID_RE = /^\d{4}-\d{2}-\d{2}-\d{6}$/;
const OVERLAY_RE = /\.vmbackup-(\d{4}-\d{2}-\d{2}-\d{6})\.overlay\.qcow2$/;

interface Run { id: string; vm: string; kind: string; status: string; pid: number; started: string; finished?: string; error?: string; backupId?: string }

async function killAndRecover(t: TestContext, lab: Lab, VM: string, writer: 'qemu-img' | 'auto'): Promise<void> {
  const host = labVm(lab, VM).host;
  const env = await labEnv(lab, { isolate: true });
  const remoteStorage = join(lab.storage.remoteDir, env.storageDir.slice(lab.storage.dir.length + 1));
  const view = { lab, stateDir: env.stateDir, storage: env.storageDir, remoteStorage } as FaultEnv;
  const slow = await scratchDir('daemon-kill');
  const policy = labPolicy(lab, { controlDir: join(env.root, 'ssh'), storageRoot: env.storageDir, remoteStorageRoot: remoteStorage, backup: { image_writer: writer } });
  policy.vms = (policy.vms as Record<string, unknown>[]).filter((v) => v.name === VM);
  const src = join(env.root, 'seed');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'lab.yaml'), stringify(policy));
  const repo = await makeRepo(src);
  let d: DaemonProc | undefined;
  let ok = false;
  t.after(async () => {
    await d?.kill9().catch(() => undefined);
    // Safety net after a failure only: put back overlays of this test's own runs.
    if (!ok) await repairLab(view, [VM]).catch(() => undefined);
    await repo.cleanup();
    await env.cleanup();
    await rm(slow, { recursive: true, force: true });
  });
  const runs = async () => (await daemonState(env.stateDir)).runs as unknown as Run[];
  const ids = async () => (await readdir(join(env.storageDir, host, VM)).catch(() => [])).filter((n) => ID_RE.test(n)).sort();
  const logsTail = () => `\n--- daemon log ---\n${d?.logs().slice(-5000) ?? ''}`;
  const bases = new Map(labVm(lab, VM).disks.map((x) => [x.target, x.path]));
  await waitQuiet(view, [VM], 180_000);

  // 1. The first daemon starts backing up the VM (it has no backup yet).
  d = await startDaemon(repo.bare, env.stateDir, [], writer === 'qemu-img' ? await slowQemuImg(slow, '512K') : {});
  const first = d.proc.pid!;
  const partial = await waitFor('the copy to be under way', async () => {
    for (const p of await findPartials(env.storageDir)) {
      const s = await stat(join(p, `${VM}-vda.qcow2`)).catch(() => undefined);
      if (s && (writer === 'auto' || s.size > 512 * 1024)) return p;
    }
    return undefined;
  }, 90_000, writer === 'auto' ? 20 : 100).catch((e: Error) => { throw new Error(e.message + logsTail()); });
  const copying = await convertsInto([env.storageDir, remoteStorage]);
  if (writer === 'qemu-img') assert.equal(copying.length, 1, 'qemu-img convert is writing into the .partial');
  const running = (await runs()).find((r) => r.vm === VM && r.kind === 'backup');
  assert.equal(running?.status, 'running');
  assert.equal(running?.pid, first, 'the daemon runs the backup in-process');

  // 2. kill -9 the daemon alone (its qemu-img child is orphaned, as after an OOM kill).
  await d.kill9();
  assert.equal((await d.proc).signal, 'SIGKILL');
  d = undefined;
  const left = await blockSources(lab, host, VM);
  const overlay = left.get('vda') ?? '';
  const orphans = await convertsInto([env.storageDir, remoteStorage]);
  t.diagnostic(`left by the kill: ${[...left].map(([k, v]) => `${k} on ${v}`).join(', ')}; ${orphans.length} orphaned qemu-img; ${partial}`);
  if (!(await findPartials(env.storageDir)).length) { t.skip('the backup ended before the daemon could be killed'); ok = true; return; }
  if (writer === 'qemu-img') {
    assert.match(overlay, OVERLAY_RE, 'the VM is left on its overlay');
    assert.equal(orphans.length, 1, 'the qemu-img copy outlives the daemon');
  }
  assert.deepEqual(await findPartials(env.storageDir), [partial], 'the .partial is left');
  assert.equal((await runs()).find((x) => x.id === running!.id)?.status, 'running', 'nobody closed the run record');
  const lock = JSON.parse(await readFile(join(env.stateDir, 'locks', `${VM}.lock`), 'utf8')) as { pid: number };
  assert.equal(lock.pid, first, 'the lock names the killed daemon');
  assert.deepEqual(await ids(), [], 'nothing was published');

  // 3. The restarted daemon (the real qemu-img): run interrupted, leftovers cleaned, caught up.
  d = await startDaemon(repo.bare, env.stateDir);
  await waitFor('readyz', async () => (await fetch(`${d!.url}/readyz`)).status === 200, 120_000, 250).catch((e: Error) => { throw new Error(e.message + logsTail()); });
  const logs = d.logs();
  assert.match(logs, new RegExp(`"run":"${running!.id}","vm":"${VM}","kind":"backup","msg":"run was interrupted by a restart`));
  assert.match(logs, new RegExp(`"actions":\\[(?:"report:[^"]*",)*"cleanup:${VM}","backup:${VM}"\\]`), 'the plan cleans up before the catch-up');
  assert.doesNotMatch(logs, /"msg":"action failed"/);
  const cleaned = [...logs.matchAll(new RegExp(`"vm":"${VM}","action":"([^"]+)","msg":"cleanup"`, 'g'))].map((m) => m[1]!);
  t.diagnostic(`cleanup by the restarted daemon: ${cleaned.join('; ')}`);
  if (writer === 'qemu-img') assert.ok(cleaned.some((a) => a.startsWith('stopped orphaned copy process')), cleaned.join('; '));
  for (const [target, src] of left) if (OVERLAY_RE.test(src)) assert.ok(cleaned.includes(`committed leftover overlay ${src} of ${target} back into ${bases.get(target)}`), cleaned.join('; '));
  assert.ok(cleaned.includes(`removed unfinished backup ${partial.split('/').at(-1)}`), cleaned.join('; '));
  const all = await runs();
  const killed = all.find((x) => x.id === running!.id)!;
  assert.equal(killed.status, 'interrupted');
  assert.match(killed.error ?? '', /the process running it died/);
  assert.ok(killed.finished, 'the interrupted run has an end time');
  const catchUp = all.filter((x) => x.vm === VM && x.kind === 'backup' && x.status === 'ok');
  assert.equal(catchUp.length, 1, JSON.stringify(all, null, 1));
  assert.equal(catchUp[0]!.pid, d.proc.pid);

  // Leftovers gone, the VM back on its base image and running, a good new restore point.
  assert.deepEqual(await blockSources(lab, host, VM), bases, 'virsh domblklist: every disk on its base image, no overlay');
  assert.equal(await domState(lab, host, VM), 'running');
  const images = await readdir(hostOf(lab, host).labImagesDir);
  for (const src of left.values()) if (OVERLAY_RE.test(src)) assert.ok(!images.includes(src.split('/').at(-1)!), `the overlay file ${src} is deleted`);
  assert.deepEqual(await findPartials(env.storageDir), []);
  assert.deepEqual(await convertsInto([env.storageDir, remoteStorage]), [], 'no qemu-img left writing into the storage');
  const published = await ids();
  assert.deepEqual(published, [catchUp[0]!.backupId]);
  assert.notEqual(`${published[0]}.partial`, partial.split('/').at(-1), 'not the killed run\'s directory');
  const sum = await execa('sha256sum', ['-c', 'checksums.sha256'], { cwd: join(env.storageDir, host, VM, published[0]!), reject: false });
  assert.equal(sum.exitCode, 0, sum.stdout + sum.stderr);
  for (const target of bases.keys()) assert.match(sum.stdout, new RegExp(`${VM}-${target}\\.qcow2: OK`));
  await assert.rejects(stat(join(env.stateDir, 'locks', `${VM}.lock`)), 'the lock is released');

  // Status on the remote: the interrupted run is counted as a failed backup of today.
  const statusFile = async (p: string) => (await execa('git', ['-C', repo.bare, 'show', `main:status/${p}`], { reject: false })).stdout;
  await waitFor('a status commit with the catch-up', async () => (await execa('git', ['-C', repo.bare, 'log', '-1', '--format=%s', 'main'])).stdout.startsWith('status: 1 ok, 0 failed, 0 overdue'), 60_000, 500);
  const vmStatus = parse(await statusFile(`vms/${VM}.yaml`)) as { last_backup: { id: string; status: string } };
  assert.deepEqual([vmStatus.last_backup.id, vmStatus.last_backup.status], [published[0], 'ok']);
  const summary = parse(await statusFile('summary.yaml')) as { backups_last_7d: { ok: number; failed: number } };
  assert.deepEqual([summary.backups_last_7d.ok, summary.backups_last_7d.failed], [1, 1], 'the interrupted run counts as a failed backup');
  const readme = await statusFile('README.md');
  assert.match(readme, /^- Last 7 days: 1 backups ok, 1 failed,/m);
  assert.match(readme, new RegExp(`^\\| ${VM} \\| yes: BackupSucceeded \\|.*\\| ⚠️ \\|$`, 'm'), 'today\'s calendar cell: an interrupted run and a good one');
  assert.equal(await d.stop('SIGTERM'), 0, d.logs().slice(-1500));
  d = undefined;
  ok = true;
}

describe('vmbackup daemon killed mid-backup (SIGKILL), then restarted', () => {
  test('qemu-img writer, slowed: killed while qemu-img copies; the restart stops the orphan, commits the overlay, drops the .partial, records the run interrupted, backs up', { timeout: 200_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    await killAndRecover(t, lab, 'lab-noos', 'qemu-img');
  });

  test('streaming writer (the default for a local VM): killed once the copy has started; the restart cleans up and backs up', { timeout: 200_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    await killAndRecover(t, lab, 'lab-noos', 'auto');
  });

  test('over ssh (hv1-vm1, two disks, qemu-img on the hypervisor): killed once the copy has started; the restart cleans up and backs up', { timeout: 200_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    await killAndRecover(t, lab, 'hv1-vm1', 'auto');
  });
});
