// Fault: the guest agent is dead, missing or hung. A quiesce-method backup must fall back to a
// crash-consistent snapshot (with a warning, manifest consistency `crash`) or fail cleanly; the
// guest is never left frozen and never frozen longer than it must be; no overlay is left.
// The hang is real: qemu-ga inside a private copy of lab-agent (same kernel, initramfs and
// qemu-ga; see cloneAgent) is SIGSTOPped by a guest-exec child, which resumes it by itself
// (test/lab/README.md "Agent failures, exactly"). The copy keeps other users' backups of
// lab-agent out of the hang, and the hang out of theirs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import {
  assertInvariants, cloneAgent, cloneBig, cloneNoos, faultEnv, faultsLock, freezeStatus, guestExec, guestExecStatus, hostOf, publishedIds, readManifest,
  repairLab, runJson, scratchDir, scratchVmPolicy, sleep, waitFor,
} from '../helpers/faults.js';

const FREEZE_TIMEOUT = 5;
const AGENT_TIMEOUT = 5;

describe('faults: guest agent', () => {
  let release: (() => Promise<void>) | undefined;
  before(async () => { release = await faultsLock(); });
  after(async () => { await release?.(); });

  test('dead agent (lab-noos, method quiesce): backup succeeds crash-consistent, with a fallback warning', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    // A private clone of lab-noos (same XML, same dead agent channel), so nobody else's backups collide.
    const noos = await cloneNoos(lab, 'dead');
    const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(noos.name, { method: 'quiesce' })] });
    t.after(async () => { await repairLab(env, [noos.ref]); await env.cleanup(); await noos.cleanup(); });

    const r = await env.cli(['backup', noos.name, '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr.slice(-3000)}`);
    const run = runJson(r);
    assert.ok(run.warnings.some((w) => /agent/i.test(w) && /crash-consistent/.test(w)), `no fallback warning in ${JSON.stringify(run.warnings)}`);
    const m = await readManifest(env.backupPath(noos.name, run.backupId!));
    assert.equal(m.method, 'quiesce');
    assert.equal(m.consistency, 'crash');
    assert.ok(m.warnings.some((w) => /crash-consistent/.test(w)), 'the manifest carries the fallback warning');
    await assertInvariants(env, { vms: [noos.ref], verify: [{ vm: noos.name, id: run.backupId! }] });
  });

  test('no agent channel at all (like hv2-vm1, over ssh, method quiesce): crash-consistent fallback with a warning', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const big = await cloneBig(lab, 'nochan');
    const env = await faultEnv(lab, { extraVms: [big.policy({ method: 'quiesce' })] });
    t.after(async () => { await repairLab(env, [big.ref]); await env.cleanup(); await big.cleanup(); });

    const r = await env.cli(['backup', big.name, '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr.slice(-3000)}`);
    const run = runJson(r);
    assert.ok(run.warnings.some((w) => /crash-consistent/.test(w)), JSON.stringify(run.warnings));
    assert.equal((await readManifest(join(env.storage, big.host, big.name, run.backupId!))).consistency, 'crash');
    await assertInvariants(env, { vms: [big.ref], verify: [{ vm: big.name, id: run.backupId! }] });
  });

  test('agent hangs after the pre-check ping, before the freeze: bounded wait, crash-consistent fallback, never frozen', { timeout: 120_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab?.roles.agent) { if (lab) { if (process.env.CI === 'true') throw new Error('CI=true and the lab has no agent VM'); t.skip('lab has no agent VM'); } return; }
    const ag = await cloneAgent(lab, 'hb');
    const vm = ag.name;
    const dir = await scratchDir('hang-before');
    const HANG = 25;
    // Runs in the guest: stop qemu-ga for HANG s, resume it, then sample for ~5 s (every 50 ms)
    // whether a freeze sent while it was stopped runs late, and for how long it stays frozen.
    const guest = [
      'usleep 200000', 'read a x </proc/uptime', 'kill -STOP $(pidof qemu-ga)', `sleep ${HANG}`, 'kill -CONT $(pidof qemu-ga)', 'read b x </proc/uptime',
      'f=0', 'i=0', 'while [ $i -lt 100 ]; do [ -e /run/qga.state.isfrozen ] && f=$((f+1)); usleep 50000; i=$((i+1)); done',
      'echo stopped=$a resumed=$b frozen_samples_after_resume=$f',
    ].join('; ');
    const req = JSON.stringify({ execute: 'guest-exec', arguments: { path: '/bin/sh', arg: ['-c', guest], 'capture-output': true } });
    assert.ok(!req.includes("'"));
    // The hang is started by a pre_backup_command: it runs after the pre-checks pinged the agent
    // and before the snapshot, so the engine's ping said "answers" and the freeze meets a hung agent.
    const hook = join(dir, 'hang-agent.sh');
    await writeFile(hook, `#!/bin/sh\nvirsh -q -c ${hostOf(lab, 'local').libvirtUri} qemu-agent-command --domain ${vm} --timeout 5 '${req}' > ${dir}/guest-exec.json || exit 1\nsleep 1\n`);
    await chmod(hook, 0o755);
    const env = await faultEnv(lab, { extraVms: [ag.policy({ pre_backup_commands: [hook] })], backup: { freeze_timeout_seconds: FREEZE_TIMEOUT, agent_timeout_seconds: AGENT_TIMEOUT } });
    t.after(async () => {
      await waitFor('agent to answer again', async () => !(await freezeStatus(lab, vm)).startsWith('error'), 60_000, 500).catch(() => undefined);
      await repairLab(env, [ag.ref]);
      await env.cleanup();
      await ag.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    const t0 = performance.now();
    const r = await env.cli(['backup', vm, '--json']);
    const secs = (performance.now() - t0) / 1000;
    const run = runJson(r);
    const pid = (JSON.parse(await readFile(join(dir, 'guest-exec.json'), 'utf8')) as { return: { pid: number } }).return.pid;
    const out = await waitFor('the guest hang script to finish', () => guestExecStatus(lab, vm, pid), HANG * 1000 + 40_000, 1000);
    t.diagnostic(`backup exit ${r.code} after ${secs.toFixed(1)} s (freeze_timeout ${FREEZE_TIMEOUT} s, agent_timeout ${AGENT_TIMEOUT} s, hang ${HANG} s); guest: ${out.out.trim()}; steps: ${run.steps.map((s) => `${s.name}=${s.ms}ms${s.ok ? '' : '!'}`).join(' ')}; warnings: ${JSON.stringify(run.warnings)}`);

    // Safety first: the guest is never left frozen, the VM is on its base, nothing is left over.
    // A freeze sent to the hung agent may run when it resumes; it must then be thawed promptly.
    const samples = Number(/frozen_samples_after_resume=(\d+)/.exec(out.out)?.[1] ?? NaN);
    assert.ok(samples * 0.05 < FREEZE_TIMEOUT, `the guest was frozen for ~${(samples * 0.05).toFixed(1)} s of the 5 s after its agent resumed: ${out.out}`);
    await assertInvariants(env, { vms: [ag.ref], verify: r.code === 0 ? [{ vm, id: run.backupId! }] : [] });
    // README step 4: "if the agent does not answer within agent_timeout_seconds the backup falls back to
    // crash-consistent and records a warning"; schema: freeze_timeout_seconds is the longest a freeze may take.
    assert.ok(secs < HANG, `the backup waited ${secs.toFixed(1)} s for an agent that hung ${HANG} s (freeze_timeout_seconds ${FREEZE_TIMEOUT}, agent_timeout_seconds ${AGENT_TIMEOUT}): the freeze wait is not bounded`);
    assert.equal(r.code, 0, `a hung agent must not fail the backup, it falls back:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
    assert.ok(run.warnings.some((w) => /crash-consistent/.test(w)), `no crash-consistent fallback warning in ${JSON.stringify(run.warnings)}`);
    assert.equal((await readManifest(env.backupPath(vm, run.backupId!))).consistency, 'crash');
  });

  test('agent hangs in the middle of the freeze: the guest is thawed as soon as the agent is back, no overlay, clean outcome', { timeout: 120_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab?.roles.agent) { if (lab) { if (process.env.CI === 'true') throw new Error('CI=true and the lab has no agent VM'); t.skip('lab has no agent VM'); } return; }
    const ag = await cloneAgent(lab, 'hm');
    const vm = ag.name;
    const HANG = 15;
    const env = await faultEnv(lab, { extraVms: [ag.policy()], backup: { freeze_timeout_seconds: FREEZE_TIMEOUT } });
    t.after(async () => {
      await waitFor('agent to answer again', async () => !(await freezeStatus(lab, vm)).startsWith('error'), 40_000, 500).catch(() => undefined);
      await repairLab(env, [ag.ref]);
      await env.cleanup();
      await ag.cleanup();
    });
    // 24 MiB of dirty page cache on the guest's filesystem: FIFREEZE must write it back first,
    // which takes long enough under TCG that the SIGSTOP below always lands inside the freeze.
    const dd = await guestExec(lab, vm, 'dd if=/dev/zero of=/mnt/data/dirty bs=1M count=24 2>/dev/null; echo written', true);
    assert.match((await waitFor('dirty data in the guest', () => guestExecStatus(lab, vm, dd), 60_000, 300)).out, /written/);
    // qemu-ga creates /run/qga.state.isfrozen just before FIFREEZE: stop it right then, so the
    // filesystem freezes and the agent never answers the freeze; resume after HANG s; then
    // measure how long the filesystem stays frozen after that. While the agent is stopped nobody
    // can thaw (a thaw goes through the agent), so freeze_timeout_seconds cannot bound this
    // freeze; what the engine owes is a thaw as soon as the agent is back and a clean outcome.
    const pid = await guestExec(lab, vm, [
      'i=0', 'while [ ! -e /run/qga.state.isfrozen ]; do usleep 5000; i=$((i+1)); [ $i -gt 6000 ] && { echo never-frozen; exit 3; }; done',
      'read a x </proc/uptime', 'kill -STOP $(pidof qemu-ga)', `sleep ${HANG}`, 'kill -CONT $(pidof qemu-ga)', 'read b x </proc/uptime',
      'i=0', 'while [ -e /run/qga.state.isfrozen ] && [ $i -lt 1500 ]; do usleep 20000; i=$((i+1)); done',
      'read c x </proc/uptime', '[ -e /run/qga.state.isfrozen ] && c=never', 'echo frozen=$a resumed=$b thawed=$c',
    ].join('; '), true);
    await sleep(300);

    const t0 = performance.now();
    const r = await env.cli(['backup', vm, '--json']);
    const secs = (performance.now() - t0) / 1000;
    const run = runJson(r);
    const out = await waitFor('the guest hang script to finish', () => guestExecStatus(lab, vm, pid), 60_000, 1000);
    t.diagnostic(`backup exit ${r.code} after ${secs.toFixed(1)} s (freeze_timeout ${FREEZE_TIMEOUT} s, hang ${HANG} s); guest: ${out.out.trim()}; steps: ${run.steps.map((s) => `${s.name}=${s.ms}ms${s.ok ? '' : '!'}`).join(' ')}; warnings: ${JSON.stringify(run.warnings)}; error: ${run.error ?? ''}`);

    const m = /frozen=([\d.]+) resumed=([\d.]+) thawed=([\d.]+|never)/.exec(out.out);
    assert.ok(m, `the guest never froze, the fault was not injected: ${out.out}`);
    assert.notEqual(m[3], 'never', `the guest stayed frozen after its agent resumed: ${out.out}`);
    const afterResume = Number(m[3]) - Number(m[2]);
    assert.ok(afterResume < FREEZE_TIMEOUT, `the guest stayed frozen ${afterResume.toFixed(1)} s after its agent came back`);
    // Either outcome is acceptable, but it must be a clean one.
    if (r.code === 0) {
      const man = await readManifest(env.backupPath(vm, run.backupId!));
      assert.ok(run.warnings.length > 0, `the guest was frozen ${(Number(m[2]) - Number(m[1])).toFixed(1)} s (freeze_timeout_seconds ${FREEZE_TIMEOUT}) and the run has no warning (manifest freeze_ms ${man.durations_ms.freeze_ms})`);
      assert.ok(['filesystem', 'crash'].includes(man.consistency));
    } else {
      assert.equal(r.code, 1, r.stderr.slice(-2000));
      assert.deepEqual(await publishedIds(env, vm), []);
    }
    // Nothing may happen late: a snapshot libvirt finishes after the engine gave up would leave the VM on an overlay.
    await sleep(3000);
    await assertInvariants(env, { vms: [ag.ref], verify: r.code === 0 ? [{ vm, id: run.backupId! }] : [] });
  });
});
