// The work behind `vmbackup prune`: retention from the command line, for sites whose backups run
// from Bacula or cron without the daemon. Same planner, guard and guarded delete as the daemon.
import { EXIT } from './exit-codes.js';
import type { EngineCliOptions } from './options.js';
import { readDaemonState } from '../daemon/daemon-state.js';
import { applyPrune, planPrune, type VmPrunePlan, type VmPruneResult } from '../engine/prune.js';
import { printResult, withEngine } from './with-engine.js';

export interface PruneOpts extends EngineCliOptions { all?: boolean; dryRun?: boolean }

function vmText(v: VmPrunePlan | VmPruneResult, dryRun: boolean): string[] {
  const head = `${v.vm}: ${v.points} restore point${v.points === 1 ? '' : 's'}`;
  const r = 'status' in v ? v : undefined;
  const lines: string[] = [];
  if (v.held) lines.push(`${head}, kept: ${v.held}`);
  else if (!v.prune.length) lines.push(`${head}, nothing to prune`);
  else if (v.refused) lines.push(`${head}, REFUSED: ${v.refused}`, ...v.prune.map((p) => `  would prune ${p.id} (${p.reasons.join('; ')})`));
  else if (dryRun || !r) lines.push(`${head}, would prune ${v.prune.length}`, ...v.prune.map((p) => `  would prune ${p.id} (${p.reasons.join('; ')})`));
  else lines.push(`${head}, ${r.status}`, ...r.pruned.map((id) => `  pruned ${id} (${v.prune.find((p) => p.id === id)?.reasons.join('; ') ?? ''})`), ...v.prune.filter((p) => !r.pruned.includes(p.id)).map((p) => `  kept ${p.id}: storage changed since the plan`));
  if (r?.error) lines.push(`  error: ${r.error}`);
  return lines;
}

/** 1 on an error, else 75 when a VM was busy, else 2 when the guard refused, else 0. */
function exitOf(vms: readonly (VmPrunePlan | VmPruneResult)[]): number {
  const st = (v: VmPrunePlan | VmPruneResult): string | undefined => ('status' in v ? v.status : undefined);
  if (vms.some((v) => st(v) === 'failed')) return EXIT.ERROR;
  if (vms.some((v) => st(v) === 'busy')) return EXIT.BUSY;
  if (vms.some((v) => v.refused && v.prune.length)) return EXIT.CHANGES;
  return EXIT.OK;
}

export async function pruneAction(vmName: string | undefined, opts: PruneOpts): Promise<void> {
  if (!vmName && !opts.all) throw new Error('name a VM, or give --all');
  if (vmName && opts.all) throw new Error('name a VM or give --all, not both');
  await withEngine(opts, async (ctx) => {
    // VMs that left the repo: the daemon records when; without a daemon they stay in their grace period.
    const removed = readDaemonState(ctx.store).removed;
    const plan = await planPrune(ctx, { ...(vmName ? { only: [vmName] } : {}), removed });
    if (vmName && !plan.vms.length && !ctx.desired.vms.some((v) => v.name === vmName)) throw new Error(`VM ${vmName} is not in the policy repo and has no backups on ${ctx.storage.root}`);
    const dryRun = opts.dryRun === true;
    const vms = dryRun ? plan.vms : await applyPrune(ctx, plan, { removed });
    const text = [...(plan.fleetRefused ? [`REFUSED for the whole pass: ${plan.fleetRefused}`] : []), ...vms.flatMap((v) => vmText(v, dryRun)), ...(vms.length ? [] : [vmName ? `${vmName}: no backups on storage, nothing to prune` : 'no backups on storage, nothing to prune'])].join('\n');
    printResult(opts, { dryRun, now: plan.now, ...(ctx.revision ? { revision: ctx.revision } : {}), ...(plan.fleetRefused ? { fleetRefused: plan.fleetRefused } : {}), vms }, text);
    return exitOf(vms);
  });
}
