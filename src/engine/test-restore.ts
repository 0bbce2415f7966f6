// `vmbackup test-restore`: prove a backup boots. Restore it under a unique throwaway name with no
// network (or an isolated one), start it, wait until it runs (and its guest agent answers, when
// it has one), write the evidence beside the backup, and always remove the throwaway VM.
import { TEST_RESTORE_FILE } from '../core/backup-layout.js';
import type { Vm } from '../core/model.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import type { EngineContext } from './context.js';
import { restoreVm } from './restore.js';

export interface TestRestoreOptions { backupId?: string; host?: string; network?: 'none' | 'isolated'; bootTimeoutSec?: number }

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
  cleanup: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function testRestore(ctx: EngineContext, vm: Vm, o: TestRestoreOptions = {}): Promise<{ run: RunRecord; evidence: TestRestoreEvidence }> {
  const list = await ctx.storage.list(vm.hypervisor, vm.name);
  const b = o.backupId ? list.find((x) => x.id === o.backupId) : list.filter((x) => x.verification?.result !== 'failed').at(-1);
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
  try {
    const restoreMs = Math.round(performance.now() - restoreStart);
    if (run.status !== 'ok') {
      ev.checks.push({ name: 'restore', ok: false, ms: restoreMs, detail: run.error ?? 'restore failed' });
      throw new Error(run.error ?? 'restore failed');
    }
    ev.checks.push({ name: 'restore', ok: true, ms: restoreMs, detail: `verified, disks: ${out.disks.join(', ')}` });
    await check('start', async () => { await host.virsh.start(testName); return undefined; });
    await check('running', async () => {
      const until = Date.now() + bootTimeoutMs;
      let state = '';
      // Running for a few seconds in a row, not just for an instant before a crash.
      let streak = 0;
      while (Date.now() < until) {
        state = await host.virsh.domstate(testName);
        streak = state === 'running' ? streak + 1 : 0;
        if (streak >= 3) return 'running';
        await sleep(1000);
      }
      throw new Error(`state ${state} after ${bootTimeoutMs / 1000}s`);
    });
    const info = await host.virsh.info(testName);
    if (info.hasAgentChannel && vm.method === 'quiesce') {
      await check('guest-agent', async () => {
        const until = Date.now() + bootTimeoutMs;
        while (Date.now() < until) {
          if (await host.virsh.agentPing(testName, 2)) return 'guest-ping answered';
          await sleep(1000);
        }
        throw new Error(`guest agent did not answer within ${bootTimeoutMs / 1000}s`);
      });
    }
    ev.result = 'ok';
    run.status = 'ok';
  } catch (e) {
    run.status = 'failed';
    run.error = (e as Error).message;
  } finally {
    if (out.defined) {
      await host.virsh.destroy(testName);
      ev.cleanup.push(`destroyed ${testName}`);
      await host.virsh.undefine(testName, true).then(() => ev.cleanup.push(`undefined ${testName}`), (e: Error) => ev.cleanup.push(`undefine failed: ${e.message}`));
    }
    for (const d of out.disks) {
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
