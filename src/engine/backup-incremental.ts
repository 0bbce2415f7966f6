// Restore points through libvirt's backup API in push mode: QEMU writes each disk's qcow2 into the
// `.partial` dir on the hypervisor at full speed (the data never crosses the control host), with a
// checkpoint `vmbackup-<id>` created atomically; an incremental holds only the clusters changed
// since the parent's checkpoint and is rebased onto `../<parent>/<file>`, then hashed where it lies.
import { join } from 'node:path';
import type { DomainDisk } from '../core/domain-xml.js';
import { diskFileName } from '../core/backup-layout.js';
import type { Manifest, ManifestFile } from '../core/manifest.js';
import type { Vm } from '../core/model.js';
import { quiesceFallback, type Consistency } from '../core/quiesce-policy.js';
import { BackupApi, BITMAP_LOST, checkpointXml, isOurCheckpoint, pushBackupXml } from '../adapters/libvirt/backup-api.js';
import { sha256File } from '../adapters/storage/hash.js';
import { remoteSha256 } from '../adapters/transport/remote-hash.js';
import { nextBackupKind, type IncrementalPolicy, type NextKind } from '../core/chain/next-kind.js';
import type { EngineContext } from './context.js';
import type { Host } from './hosts.js';

export type KindDecision = NextKind;

export type IncrementalSettings = IncrementalPolicy;

/** The VM's `incremental` setting (older in-memory VMs may lack it: always full). */
export const incrementalOf = (vm: Vm): IncrementalSettings | undefined => (vm as Partial<Pick<Vm, 'incremental'>>).incremental;

export const backupApi = (host: Host): BackupApi => new BackupApi(host.transport, host.hv.libvirtUri);

export interface ApiPlan { decision: KindDecision; parentManifest?: Manifest }

/**
 * Whether to take this point through the backup API, and as what (the core decides: next-kind.ts);
 * undefined = the snapshot + copy path, with the reason in `warnings` when tracking was wanted.
 */
export async function planApiPoint(ctx: EngineContext, host: Host, vm: Vm, running: boolean, copy: readonly DomainDisk[], virtual: ReadonlyMap<string, number>, domainXml: string, warnings: string[]): Promise<ApiPlan | undefined> {
  const inc = incrementalOf(vm);
  if (!inc || inc.fullEvery <= 1) return undefined;
  const api = backupApi(host);
  const disks = copy.map((d) => ({ target: d.target, format: d.format ?? 'raw', virtualSizeBytes: virtual.get(d.target) ?? 0 }));
  const qcow2 = disks.every((d) => d.format === 'qcow2');
  const virtType = /<domain\s+type=['"]([a-z]+)['"]/.exec(domainXml)?.[1] ?? 'kvm';
  const apiOk = running && qcow2 && await api.supported(virtType);
  const points = await ctx.storage.list(vm.hypervisor, vm.name);
  const decision = nextBackupKind({ points, disks, checkpoints: running ? await api.checkpoints(vm.name) : [], running, backupApi: apiOk, now: ctx.now().toISOString() }, inc);
  if (decision.warn) warnings.push(decision.reason);
  if (!apiOk) return undefined;
  const parentManifest = decision.parent ? points.find((p) => p.id === decision.parent)?.manifest : undefined;
  return { decision, ...(parentManifest ? { parentManifest } : {}) };
}

export interface ApiPoint {
  files: ManifestFile[]; consistency: Consistency; checkpoint: string; jobMs: number;
  /** What was taken: the plan's kind, or a full when the parent's bitmap turned out to be lost. */
  kind: 'full' | 'incremental'; parent?: string;
}


/** Runs the push-mode backup into `dirHv`, rebases incrementals, hashes every image. */
export async function takeApiPoint(ctx: EngineContext, host: Host, vm: Vm, id: string, plan: ApiPlan, copy: readonly DomainDisk[], all: readonly DomainDisk[], virtual: ReadonlyMap<string, number>, dirCtl: string, dirHv: string, quiesceWanted: boolean, agentSec: number, warnings: string[]): Promise<ApiPoint> {
  const api = backupApi(host);
  const checkpoint = `vmbackup-${id}`;
  const targets = copy.map((d) => d.target);
  const skipped = all.filter((d) => d.device === 'disk' && !targets.includes(d.target)).map((d) => d.target);
  const files = copy.map((d) => ({ d, name: diskFileName(vm.name, d.target) }));
  let parent = plan.decision.kind === 'incremental' ? plan.decision.parent : undefined;
  const bx = (): string => pushBackupXml(files.map((f) => ({ target: f.d.target, file: `${dirHv}/${f.name}` })), skipped, parent ? `vmbackup-${parent}` : undefined);
  const cx = checkpointXml(checkpoint, targets, skipped);
  /** Starts the job; when QEMU lost the parent's bitmap (it was killed before saving it), drops that checkpoint and takes a full. */
  const start = async (q: boolean): Promise<void> => {
    try {
      await api.begin(vm.name, bx(), cx, q);
    } catch (e) {
      const msg = (e as Error).message;
      if (!parent || !BITMAP_LOST.test(msg)) throw e;
      warnings.push(`full instead of an incremental: the checkpoint vmbackup-${parent} can no longer be used (${msg.split('\n').slice(-1)[0]!.replace(/^.*error: /, '')}; QEMU stopped without saving its bitmap); it was deleted`);
      await api.deleteCheckpoint(vm.name, `vmbackup-${parent}`).catch(() => undefined);
      for (const f of files) await host.transport.run(['rm', '-f', '--', `${dirHv}/${f.name}`], { timeoutMs: 30_000 });
      parent = undefined;
      await api.begin(vm.name, bx(), cx, q);
    }
  };
  let quiesce = quiesceWanted;
  if (quiesce && !(await host.virsh.agentPing(vm.name, agentSec))) {
    const fb = quiesceFallback(vm, 'the guest agent stopped answering', 'guest agent stopped answering before the backup: crash-consistent');
    if (fb.fail) throw new Error(fb.error);
    warnings.push(fb.warning);
    quiesce = false;
  }
  const t0 = performance.now();
  try {
    await start(quiesce);
  } catch (e) {
    if (!quiesce) throw e;
    const fb = quiesceFallback(vm, `the quiesced backup start failed: ${(e as Error).message}`, `quiesce failed (${(e as Error).message.split('\n').slice(-1)[0]}): crash-consistent`);
    if (fb.fail) throw new Error(fb.error);
    warnings.push(fb.warning);
    quiesce = false;
    await start(false);
  }
  try {
    await api.wait(vm.name, ctx.desired.settings.backup.copyTimeoutHours * 3_600_000);
  } catch (e) {
    await api.abort(vm.name);
    await api.deleteCheckpoint(vm.name, checkpoint).catch(() => undefined);
    throw e;
  }
  const jobMs = Math.round(performance.now() - t0);
  const timeoutMs = ctx.desired.settings.backup.copyTimeoutHours * 3_600_000;
  const out: ManifestFile[] = [];
  for (const { d, name } of files) {
    const hv = `${dirHv}/${name}`;
    let changed: number | undefined;
    let backing: string | undefined;
    if (parent) {
      const pf = plan.parentManifest?.files.find((f) => f.target === d.target);
      if (!pf) throw new Error(`the parent ${parent} has no image of ${d.target}`);
      backing = `../${parent}/${pf.path}`;
      // libvirt leaves the live disk as the backing file: replace it by the parent's image, relative.
      await host.transport.run(['qemu-img', 'rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', backing, '--', hv], { timeoutMs: 60_000 });
      changed = await ownDataBytes(host, hv);
    }
    await host.fs.chmod('0640', hv);
    const h = await hashImage(host, join(dirCtl, name), hv, timeoutMs);
    if (h.warning) warnings.push(h.warning);
    out.push({ path: name, size_bytes: h.bytes, sha256: h.sha256, target: d.target, format: 'qcow2', source_path: d.source!, virtual_size_bytes: virtual.get(d.target) ?? 0,
      ...(changed !== undefined ? { changed_bytes: changed } : {}), ...(backing ? { backing } : {}) });
  }
  return { files: out, consistency: quiesce ? 'filesystem' : 'crash', checkpoint, jobMs, kind: parent ? 'incremental' : 'full', ...(parent ? { parent } : {}) };
}

/** Bytes of the clusters allocated in the image itself (not in its backing chain). */
async function ownDataBytes(host: Host, path: string): Promise<number> {
  const r = await host.transport.run(['qemu-img', 'map', '--output=json', '-f', 'qcow2', '--', path], { timeoutMs: 120_000 });
  const map = JSON.parse(r.stdout) as { length: number; depth: number; data: boolean }[];
  return map.filter((e) => e.depth === 0 && e.data).reduce((n, e) => n + e.length, 0);
}

async function hashImage(host: Host, ctlPath: string, hvPath: string, timeoutMs: number): Promise<{ sha256: string; bytes: number; warning?: string }> {
  if (host.transport.kind !== 'ssh') return sha256File(ctlPath, undefined, { sync: true });
  const h = await remoteSha256(host.transport, hvPath, { sync: true, timeoutMs });
  if (h.kind === 'ok') return { sha256: h.sha256, bytes: h.bytes };
  if (h.kind === 'no-tool') return { ...(await sha256File(ctlPath, undefined, { sync: true })), warning: `${host.hv.name} has no openssl: ${hvPath} was hashed by reading it back on the control host` };
  throw new Error(`${host.hv.name}: ${hvPath} was not hashed (${h.kind})`);
}

/** After a published point: keep only its own checkpoint among ours; never touch anyone else's. */
export async function tidyCheckpoints(host: Host, vm: string, keep: string | undefined, warnings: string[]): Promise<void> {
  const api = backupApi(host);
  for (const c of await api.checkpoints(vm)) {
    if (!isOurCheckpoint(c) || c === keep) continue;
    try { await api.deleteCheckpoint(vm, c); } catch (e) { warnings.push(`could not delete the old checkpoint ${c}: ${(e as Error).message}`); }
  }
}
