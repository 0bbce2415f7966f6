// Which VMs get a test restore now: per policy, `sample` VMs per period (all when no sample),
// rotating by oldest test first, so every VM is tested in turn (seed 002: monthly, one random VM —
// deterministic here, as a plan must be).
import type { Vm } from '../model.js';
import type { ObservedRuns } from './types.js';

const DAY = 86_400_000;

export function pickTestRestores(vms: readonly Vm[], runs: Readonly<Record<string, ObservedRuns>>, now: string): Vm[] {
  const byPolicy = new Map<string, Vm[]>();
  for (const vm of vms) {
    if (!vm.enabled || vm.testRestore.everyDays <= 0) continue;
    const key = `${vm.policy ?? `vm:${vm.name}`}|${vm.testRestore.everyDays}|${vm.testRestore.sample ?? 'all'}`;
    byPolicy.set(key, [...(byPolicy.get(key) ?? []), vm]);
  }
  const out: Vm[] = [];
  const t = Date.parse(now);
  for (const group of byPolicy.values()) {
    const period = group[0]!.testRestore.everyDays * DAY;
    const last = (vm: Vm): number => { const r = runs[vm.name]?.lastTestRestore; return r ? Date.parse(r.time) : 0; };
    const testedRecently = group.filter((vm) => t - last(vm) < period).length;
    const quota = (group[0]!.testRestore.sample ?? group.length) - testedRecently;
    if (quota <= 0) continue;
    const due = group.filter((vm) => t - last(vm) >= period).sort((a, b) => last(a) - last(b) || a.name.localeCompare(b.name));
    out.push(...due.slice(0, quota));
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
