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
  /** Targets whose image is encrypted (copied by qemu-img only). */
  encrypted: Set<string>;
  result: PrecheckResult;
}

export async function observeForBackup(ctx: EngineContext, host: Host, vm: Vm): Promise<VmObservation> {
  const s = ctx.desired.settings;
  const state = (await host.virsh.list()).get(vm.name);
  const info = state ? parseDomainXml(await host.virsh.dumpxml(vm.name)) : undefined;
  const disks = selectDisks(info?.disks ?? [], vm.disks);
  const encrypted = new Set<string>();
  const virtualBytes = new Map<string, number>();
  // Independent questions, asked at once: each is a process (and over ssh a round trip).
  const imageFacts = async (d: (typeof disks.copy)[number]): Promise<ImageFacts | undefined> => {
    if (!d.source) return undefined;
    const fmt = assertFormat(d.format ?? 'raw');
    const [img] = await host.qemuImg.info(d.source, fmt);
    virtualBytes.set(d.target, img?.virtualSize ?? 0);
    if (img?.encrypted) encrypted.add(d.target);
    // What the copy will write (compressed clusters expand), unless we compress it ourselves.
    const needed = vm.compression === 'zstd' || img?.backingFilename || img?.dataFile ? img?.actualSize ?? 0 : Math.max(await host.qemuImg.measure(d.source, fmt), img?.actualSize ?? 0);
    return { target: d.target, format: img?.format ?? '?', allocatedBytes: needed, ...(img?.backingFilename ? { backing: img.backingFilename } : {}), ...(img?.dataFile ? { dataFile: img.dataFile } : {}) };
  };
  const firstDisk = disks.copy[0]?.source ?? `${host.hv.imagesDir}/x`;
  const [facts, agentAnswers, snapshotNames, storage, hvFree] = await Promise.all([
    Promise.all(disks.copy.map(imageFacts)),
    vm.method === 'quiesce' && state === 'running' ? host.virsh.agentPing(vm.name, s.backup.agentTimeoutSec) : Promise.resolve(undefined),
    state ? host.virsh.snapshotNames(vm.name) : Promise.resolve([]),
    ctx.storage.space(),
    host.fs.df(firstDisk.slice(0, firstDisk.lastIndexOf('/')) || '/'),
  ]);
  const images = facts.filter((f): f is ImageFacts => f !== undefined);
  const result = evaluatePrechecks({
    vm, state, disks, images, ...(agentAnswers !== undefined ? { agentAnswers } : {}), snapshotNames, storage,
    hypervisorFree: { availBytes: hvFree.availBytes, path: hvFree.mount, minFreeGiB: host.hv.minFreeGiB }, marginPercent: s.backup.storageMarginPercent,
  });
  return { state, info, disks, images, virtualBytes, encrypted, result };
}
