// The work behind `backups`, `verify`, `restore` and `test-restore`.
import { fmt } from '../core/prechecks.js';
import { EXIT } from './exit-codes.js';
import type { EngineCliOptions } from './options.js';
import { findVm } from '../engine/context.js';
import { restoreVm } from '../engine/restore.js';
import { latestGoodBackup } from '../engine/latest-backup.js';
import { testRestore } from '../engine/test-restore.js';
import { verifyVm } from '../engine/verify.js';
import { printResult, withEngine } from './with-engine.js';

export async function listAction(vmName: string, opts: EngineCliOptions): Promise<void> {
  await withEngine(opts, async (ctx) => {
    const vm = findVm(ctx.desired, vmName);
    const list = await ctx.storage.list(vm.hypervisor, vm.name);
    const rows = list.map((b) => ({ id: b.id, size_bytes: b.manifest?.total_size_bytes ?? 0, method: b.manifest?.method, consistency: b.manifest?.consistency, verified: b.corrupt?.length ? 'corrupt' : b.verification?.result ?? (b.manifest ? 'at backup' : 'no manifest'), verified_at: b.verification?.at, ...(b.corrupt?.length ? { problems: b.corrupt } : {}) }));
    const text = rows.length ? rows.map((r) => `${r.id}  ${fmt(r.size_bytes).padStart(10)}  ${r.consistency ?? '?'}  verified: ${r.verified}${r.verified_at ? ` (${r.verified_at})` : ''}`).join('\n') : `${vm.name} has no backups`;
    printResult(opts, rows, text);
    return EXIT.OK;
  });
}

export async function verifyAction(vmName: string, opts: EngineCliOptions & { backup?: string; all?: boolean }): Promise<void> {
  await withEngine(opts, async (ctx) => {
    const vm = findVm(ctx.desired, vmName);
    const sel = opts.backup ? { backup: opts.backup } : opts.all ? { all: true as const } : { latest: true as const };
    const { run, results } = await verifyVm(ctx, vm, sel);
    const text = [...results.map((r) => `${r.id}: ${r.ok ? 'OK' : 'FAILED'} (${fmt(r.bytes)} in ${r.ms} ms)${r.problems.map((p) => `\n  ${p}`).join('')}`), ...(results.length ? [] : [run.error ?? 'nothing verified'])].join('\n');
    printResult(opts, { status: run.status, results }, text);
    return run.status === 'ok' ? EXIT.OK : EXIT.ERROR;
  });
}

export async function restoreAction(vmName: string, opts: EngineCliOptions & { backup?: string; latest?: boolean; as?: string; host?: string; start?: boolean; network: 'keep' | 'none' | 'isolated'; force?: boolean; keepHostDevices?: boolean }): Promise<void> {
  await withEngine(opts, async (ctx) => {
    const vm = findVm(ctx.desired, vmName);
    if (!opts.backup === !opts.latest) throw new Error('give --backup ID or --latest (one of them)');
    const backupId = opts.backup ?? await latestGoodBackup(ctx, vm);
    const out = await restoreVm(ctx, vm, { backupId, network: opts.network, ...(opts.as ? { as: opts.as } : {}), ...(opts.host ? { host: opts.host } : {}), ...(opts.start ? { start: true } : {}), ...(opts.force ? { force: true } : {}), ...(opts.keepHostDevices ? { keepHostDevices: true } : {}) });
    const head = out.run.status === 'ok' ? `restored ${vm.name} backup ${backupId} as ${out.name} on ${out.host}${opts.start ? ' (started)' : ''}\n${out.disks.map((d) => `  disk ${d}`).join('\n')}` : `restore failed: ${out.run.error}`;
    const text = [head, ...warningLines(out.run.warnings)].join('\n');
    printResult(opts, out, text);
    return out.run.status === 'ok' ? EXIT.OK : EXIT.ERROR;
  });
}

export async function testRestoreAction(vmName: string, opts: EngineCliOptions & { backup?: string; host?: string; network?: 'none' | 'isolated'; bootTimeout?: string }): Promise<void> {
  await withEngine(opts, async (ctx) => {
    const vm = findVm(ctx.desired, vmName);
    const { run, evidence } = await testRestore(ctx, vm, { ...(opts.backup ? { backupId: opts.backup } : {}), ...(opts.host ? { host: opts.host } : {}), ...(opts.network ? { network: opts.network } : {}), ...(opts.bootTimeout ? { bootTimeoutSec: Number(opts.bootTimeout) } : {}) });
    const text = [`test-restore of ${vm.name} backup ${evidence.backup_id} as ${evidence.test_name}: ${evidence.result}`, ...evidence.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name} (${c.ms} ms)${c.detail ? `: ${c.detail}` : ''}`), ...warningLines(run.warnings), ...evidence.cleanup.map((c) => `  cleanup: ${c}`)].join('\n');
    printResult(opts, { run, evidence }, text);
    return run.status === 'ok' ? EXIT.OK : EXIT.ERROR;
  });
}

/** Run warnings (for a restore: each part of the backup's domain XML the allow-list left out). */
function warningLines(warnings: readonly string[]): string[] {
  return warnings.map((w) => `  warning: ${w}`);
}
