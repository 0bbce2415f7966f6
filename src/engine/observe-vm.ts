// What the pre-checks look at, gathered from libvirt, qemu-img and storage, then judged by the
// pure core (core/prechecks.ts). Shared by `backup` and `check`.
import { parseDomainXml, type DomainInfo } from '../core/domain-xml.js';
import type { Vm } from '../core/model.js';
import { evaluatePrechecks, selectDisks, type DiskSelection, type ImageFacts, type PrecheckResult } from '../core/prechecks.js';
import { assertFormat } from '../adapters/libvirt/qemu-img.js';
import type { EngineContext } from './context.js';
import type { Host } from './hosts.js';

export interface VmObservation {
  state: string | undefined;
  info: DomainInfo | undefined;
  disks: DiskSelection;
  images: ImageFacts[];
  virtualBytes: Map<string, number>;
  result: PrecheckResult;
}

export async function observeForBackup(ctx: EngineContext, host: Host, vm: Vm): Promise<VmObservation> {
  const s = ctx.desired.settings;
  const state = (await host.virsh.list()).get(vm.name);
  const info = state ? parseDomainXml(await host.virsh.dumpxml(vm.name)) : undefined;
  const disks = selectDisks(info?.disks ?? [], vm.disks);
  const images: ImageFacts[] = [];
  const virtualBytes = new Map<string, number>();
  for (const d of disks.copy) {
    if (!d.source) continue;
    const fmt = assertFormat(d.format ?? 'raw');
    const [img] = await host.qemuImg.info(d.source, fmt);
    virtualBytes.set(d.target, img?.virtualSize ?? 0);
    // What the copy will write (compressed clusters expand), unless we compress it ourselves.
    const needed = vm.compression === 'zstd' || img?.backingFilename || img?.dataFile ? img?.actualSize ?? 0 : Math.max(await host.qemuImg.measure(d.source, fmt), img?.actualSize ?? 0);
    images.push({ target: d.target, format: img?.format ?? '?', allocatedBytes: needed, ...(img?.backingFilename ? { backing: img.backingFilename } : {}), ...(img?.dataFile ? { dataFile: img.dataFile } : {}) });
  }
  const agentAnswers = vm.method === 'quiesce' && state === 'running' ? await host.virsh.agentPing(vm.name, s.backup.agentTimeoutSec) : undefined;
  const snapshotNames = state ? await host.virsh.snapshotNames(vm.name) : [];
  const storage = await ctx.storage.space();
  const firstDisk = disks.copy[0]?.source ?? `${host.hv.imagesDir}/x`;
  const hvFree = await host.fs.df(firstDisk.slice(0, firstDisk.lastIndexOf('/')) || '/');
  const result = evaluatePrechecks({
    vm, state, disks, images, ...(agentAnswers !== undefined ? { agentAnswers } : {}), snapshotNames, storage,
    hypervisorFree: { availBytes: hvFree.availBytes, path: hvFree.mount, minFreeGiB: host.hv.minFreeGiB }, marginPercent: s.backup.storageMarginPercent,
  });
  return { state, info, disks, images, virtualBytes, result };
}
