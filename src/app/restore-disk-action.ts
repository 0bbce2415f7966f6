// The work behind `restore <vm> --disk TARGET`: one disk of a backup, in place or as a new disk.
import { EXIT } from './exit-codes.js';
import type { EngineCliOptions } from './options.js';
import { findVm } from '../engine/context.js';
import { latestGoodBackup } from '../engine/latest-backup.js';
import { restoreDisk } from '../engine/restore-disk.js';
import { printResult, withEngine } from './with-engine.js';

export interface RestoreDiskOpts extends EngineCliOptions { backup?: string; latest?: boolean; disk: string; as?: string; asDisk?: string; host?: string }

export async function restoreDiskAction(vmName: string, opts: RestoreDiskOpts): Promise<void> {
  if (!opts.backup === !opts.latest) throw new Error('give --backup ID or --latest (one of them)');
  await withEngine(opts, async (ctx) => {
    const vm = findVm(ctx.desired, vmName);
    const backupId = opts.backup ?? await latestGoodBackup(ctx, vm);
    const out = await restoreDisk(ctx, vm, { backupId, target: opts.disk, ...(opts.as ? { into: opts.as } : {}), ...(opts.host ? { host: opts.host } : {}), ...(opts.asDisk ? { asDisk: opts.asDisk } : {}) });
    const ok = out.run.status === 'ok';
    const text = ok
      ? out.mode === 'in-place' ? `restored ${vm.name}'s ${out.target} from backup ${backupId} into ${out.vm} on ${out.host} in place: ${out.path}` : `restored ${vm.name}'s ${out.target} from backup ${backupId} as ${out.path} on ${out.host}${out.attachedAs ? `, attached to ${out.vm} as ${out.attachedAs}` : `: ${out.note ?? 'not attached'}`}`
      : `restore of ${vm.name}'s ${opts.disk} failed: ${out.run.error}`;
    printResult(opts, { ...out, backupId }, text);
    return ok ? EXIT.OK : EXIT.ERROR;
  });
}
