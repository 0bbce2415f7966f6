// `vmbackup test-restore`: prove a backup boots. Restore it under a unique throwaway name with no
// network (or an isolated one), start it, wait until it runs and its probe sees evidence of a boot
// (the guest agent, a console prompt, a TCP port), screenshot its console, write the evidence
// beside the backup, and always remove the throwaway VM.
import { posix } from 'node:path';
import { TEST_RESTORE_FILE } from '../core/backup-layout.js';
import type { Vm } from '../core/model.js';
import { chainOf } from '../core/chain/points.js';
import { parseDomainXml } from '../core/domain-xml.js';
import { chooseProbe, describeProbe, probeRefusal, type ProbeChoice, type ProbeSpec } from '../core/probe.js';
import { withEvidenceDevices, withHostDirectBoot } from '../core/probe-xml.js';
import { saveConsole, saveScreenshot, type ScreenshotEvidence } from './probes/evidence-files.js';
import { runProbe } from './probes/run-probe.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import type { EngineContext } from './context.js';
import { restoreVm } from './restore.js';

export interface TestRestoreOptions { backupId?: string; host?: string; network?: 'none' | 'isolated'; bootTimeoutSec?: number; probe?: ProbeSpec }

export interface TestRestoreEvidence {
  backup_id: string;
  vm: string;
  test_name: string;
  hypervisor: string;
  network: string;
  started: string;
  finished: string;
  result: 'ok' | 'failed';
  checks: { name: string; ok: boolean; ms: number; detail?: string }[];
  /** Which evidence of a boot was asked for, why, and what was seen. */
  probe?: { kind: ProbeSpec['kind']; pattern?: string; port?: number; source: ProbeChoice['source']; why: string; ok: boolean; detail: string; ms: number };
  /** The console screenshot beside this file (or why there is none). */
  screenshot?: ScreenshotEvidence;
  /** The serial console's newest output, beside this file. */
  console?: { file: string; bytes: number };
  cleanup: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function testRestore(ctx: EngineContext, vm: Vm, o: TestRestoreOptions = {}): Promise<{ run: RunRecord; evidence: TestRestoreEvidence }> {
  const list = await ctx.storage.list(vm.hypervisor, vm.name);
  // Default: the newest point whose whole chain is good (restore then verifies that chain again).
  const b = o.backupId ? list.find((x) => x.id === o.backupId) : list.filter((x) => !x.corrupt && x.verification?.result !== 'failed' && chainOf(list, x.id).notGood === undefined).at(-1);
  if (!b) throw new Error(o.backupId ? `no backup ${o.backupId} of ${vm.name}` : `${vm.name} has no backup to test`);
  const stamp = ctx.now().toISOString().replace(/[-:TZ.]/g, '').slice(0, 14);
  const testName = `${vm.name}-restoretest-${stamp}`.slice(0, 64);
  const network = o.network ?? vm.testRestore.network;
  const bootTimeoutMs = (o.bootTimeoutSec ?? ctx.desired.settings.testRestore.bootTimeoutSec) * 1000;
  const ev: TestRestoreEvidence = { backup_id: b.id, vm: vm.name, test_name: testName, hypervisor: o.host ?? vm.hypervisor, network, started: ctx.now().toISOString(), finished: '', result: 'failed', checks: [], cleanup: [] };
  const check = async (name: string, fn: () => Promise<string | undefined>): Promise<void> => {
    const t0 = performance.now();
    try {
      const detail = await fn();
      ev.checks.push({ name, ok: true, ms: Math.round(performance.now() - t0), ...(detail ? { detail } : {}) });
    } catch (e) {
      ev.checks.push({ name, ok: false, ms: Math.round(performance.now() - t0), detail: (e as Error).message });
      throw e;
    }
  };
  const restoreStart = performance.now();
  const out = await restoreVm(ctx, vm, { backupId: b.id, as: testName, ...(o.host ? { host: o.host } : {}), start: false, network, kind: 'test-restore' });
  const host = ctx.hosts.get(out.host);
  const run = out.run;
  // The copy's serial output, logged by libvirt beside its disks and removed with them.
  const consoleLog = posix.join(host.hv.imagesDir, `${testName}-console.log`);
  let started = false;
  try {
    const restoreMs = Math.round(performance.now() - restoreStart);
    if (run.status !== 'ok') {
      ev.checks.push({ name: 'restore', ok: false, ms: restoreMs, detail: run.error ?? 'restore failed' });
      throw new Error(run.error ?? 'restore failed');
    }
    ev.checks.push({ name: 'restore', ok: true, ms: restoreMs, detail: `verified, disks: ${out.disks.join(', ')}` });
    // The probe is decided on the copy as defined (its agent channel and NICs), before it starts.
    const copy = parseDomainXml(await host.virsh.dumpxml(testName, true));
    const choice = chooseProbe(o.probe ?? vm.testRestore.probe, copy);
    ev.probe = { kind: choice.probe.kind, ...probeParams(choice.probe), source: choice.source, why: choice.why, ok: false, detail: 'not run', ms: 0 };
    const refusal = probeRefusal(choice.probe, { hasAgentChannel: copy.hasAgentChannel, network, nics: copy.interfaces.length });
    if (refusal) { ev.probe.detail = refusal; throw new Error(refusal); }
    await check('evidence-devices', async () => {
      await host.fs.removeFile(consoleLog);
      const prepared = withEvidenceDevices(await host.virsh.dumpxml(testName, true), consoleLog);
      // The original as this host defines it now (trusted, unlike the backup's XML), if it is here.
      const hostXml = out.host === vm.hypervisor ? await host.virsh.dumpxml(vm.name, true).catch(() => undefined) : undefined;
      const boot = withHostDirectBoot(prepared.xml, hostXml);
      await host.virsh.define(boot.xml);
      return [...prepared.changes, ...(boot.change ? [boot.change] : [])].join('; ');
    });
    await check('start', async () => { await host.virsh.start(testName); started = true; return undefined; });
    const deadline = Date.now() + bootTimeoutMs;
    await check('running', async () => {
      let state = '';
      // Running for a few seconds in a row, not just for an instant before a crash.
      let streak = 0;
      while (Date.now() < deadline) {
        state = await host.virsh.domstate(testName);
        streak = state === 'running' ? streak + 1 : 0;
        if (streak >= 3) return 'running';
        await sleep(1000);
      }
      throw new Error(`state ${state} after ${bootTimeoutMs / 1000}s`);
    });
    const t0 = performance.now();
    const seen = await runProbe(choice.probe, { host, dom: testName, consoleLog, deadline });
    Object.assign(ev.probe, { ok: seen.ok, detail: seen.detail, ms: Math.round(performance.now() - t0) });
    ev.checks.push({ name: 'probe', ok: seen.ok, ms: ev.probe.ms, detail: `${describeProbe(choice.probe)}: ${seen.detail}` });
    run.steps.push({ name: 'probe', ok: seen.ok, ms: ev.probe.ms, detail: `${describeProbe(choice.probe)}: ${seen.detail}` });
    if (!seen.ok) throw new Error(`no evidence of a boot: ${describeProbe(choice.probe)}: ${seen.detail}`);
    ev.result = 'ok';
    run.status = 'ok';
  } catch (e) {
    run.status = 'failed';
    run.error = (e as Error).message;
  } finally {
    // Evidence first, while the copy still runs: its screen, then its console's last output.
    if (started) {
      const t0 = performance.now();
      ev.screenshot = await saveScreenshot(ctx, host, testName, b.dir);
      const detail = 'error' in ev.screenshot ? `no screenshot: ${ev.screenshot.error}` : ev.screenshot.path;
      run.steps.push({ name: 'screenshot', ok: !('error' in ev.screenshot), ms: Math.round(performance.now() - t0), detail });
      if ('error' in ev.screenshot) run.warnings.push(`test-restore screenshot: ${ev.screenshot.error}`);
    }
    if (out.defined) {
      const saved = await saveConsole(ctx, host, consoleLog, b.dir).catch(() => undefined);
      if (saved) ev.console = saved;
    }
    if (out.defined) {
      await host.virsh.destroy(testName);
      ev.cleanup.push(`destroyed ${testName}`);
      // --nvram --tpm: the copy's own NVRAM file and TPM state (restore gave it its own, never the original's).
      await host.virsh.undefine(testName, { nvram: 'remove', tpm: 'remove' }).then(() => ev.cleanup.push(`undefined ${testName}`), (e: Error) => ev.cleanup.push(`undefine failed: ${e.message}`));
    }
    for (const d of [...out.disks, ...(out.defined ? [consoleLog] : [])]) {
      await host.fs.removeFile(d).then(() => ev.cleanup.push(`removed ${d}`), (e: Error) => ev.cleanup.push(`could not remove ${d}: ${e.message}`));
    }
    ev.finished = ctx.now().toISOString();
    await ctx.storage.writeFile(b.dir, TEST_RESTORE_FILE, JSON.stringify(ev, null, 2) + '\n');
    run.finished = ev.finished;
    await ctx.store.saveRun(run);
  }
  if (run.status === 'failed') await ctx.notifier.notify({ kind: 'failure', run });
  else await ctx.notifier.notify({ kind: run.warnings.length ? 'warning' : 'success', run });
  return { run, evidence: ev };
}

function probeParams(p: ProbeSpec): { pattern?: string; port?: number } {
  return p.kind === 'console' ? { pattern: p.pattern } : p.kind === 'tcp' ? { port: p.port } : {};
}
