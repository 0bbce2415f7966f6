// `vmbackup verify`: re-hash a backup's files against its manifest and checksums.sha256, and
// record the result beside them (verification.json) and in the state store. A single flipped
// byte marks the backup bad, which retention then treats as not a good restore point.
// Storage is untrusted on read: manifest paths must be plain names inside the backup directory,
// files are opened without following symlinks and must be regular, and no file is read past
// its manifest size + 1 byte (so /dev/zero, a FIFO or a huge file cannot hang verify).
// The images are hashed on the VM's ssh hypervisor when it has one (./verify-hasher.ts).
// A point of an incremental chain is verified with its chain (verifyPoint): every ancestor is
// re-hashed and recorded on its own, the images' backing references must be exactly the recorded
// parents (./chain-images.ts), and a failing ancestor makes the point fail, naming that ancestor.
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKSUM_FILE, VERIFY_FILE, vmDir } from '../core/backup-layout.js';
import { chainOf } from '../core/chain/points.js';
import { manifestProblems, parseChecksums } from '../core/manifest.js';
import type { Vm } from '../core/model.js';
import type { StoredBackup } from '../adapters/storage/backup-store.js';
import { readRegularText, UntrustedFileError } from '../adapters/storage/read-untrusted.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import { chainImageProblems } from './chain-images.js';
import { newRun, type EngineContext } from './context.js';
import type { Host } from './hosts.js';
import { hasherFor } from './verify-hasher.js';

export interface VerifyResult {
  id: string; ok: boolean; problems: string[]; bytes: number; ms: number; warnings: string[];
  /** The point of the chain that failed (this one or an ancestor), when one did. */
  failedPoint?: string;
}

/** Extra checks of a point whose manifest is sound (its chain's images); their problems are the point's. */
type ExtraCheck = (warnings: string[]) => Promise<string[]>;

const why = (e: unknown): string =>
  e instanceof UntrustedFileError ? e.why : (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message;

/** Checks one stored backup; pure reading, then one small atomic write of the verdict. */
export async function verifyBackup(ctx: EngineContext, b: StoredBackup, extra?: ExtraCheck): Promise<VerifyResult> {
  const t0 = performance.now();
  const problems: string[] = [];
  let bytes = 0;
  const m = b.manifest;
  const hasher = hasherFor(ctx, b.dir, b.id);
  const mp = m ? manifestProblems(m) : [];
  if (!m) problems.push(...(b.corrupt?.length ? b.corrupt : ['backup-metadata.json is missing or unreadable']));
  else if (mp.length) problems.push(...mp); // a corrupt manifest: none of its paths is opened
  else {
    if (m.backup_id !== undefined && m.backup_id !== b.id) problems.push(`the manifest is of backup ${JSON.stringify(m.backup_id)}, not ${b.id}`);
    let sums = new Map<string, string>();
    try {
      const parsed = parseChecksums(await readRegularText(join(b.dir, CHECKSUM_FILE), 4 * 1024 * 1024));
      sums = parsed.entries;
      if (parsed.bad.length) problems.push(`${CHECKSUM_FILE}: ${parsed.bad.length} malformed line(s)`);
    } catch (e) {
      problems.push(`${CHECKSUM_FILE}: ${why(e)}`);
    }
    for (const f of m.files) {
      if (sums.get(f.path) !== f.sha256) problems.push(`${f.path}: ${CHECKSUM_FILE} and the manifest disagree`);
      try {
        const h = await hasher.hash(f.path, f.size_bytes);
        bytes += h.bytes;
        if (h.truncatedRead) problems.push(`${f.path}: larger than the ${f.size_bytes} bytes the manifest says (read stopped there)`);
        else if (h.bytes !== f.size_bytes) problems.push(`${f.path}: ${h.bytes} bytes, expected ${f.size_bytes}`);
        if (!h.truncatedRead && h.sha256 !== f.sha256) problems.push(`${f.path}: checksum mismatch (sha256 ${h.sha256.slice(0, 16)}…, expected ${f.sha256.slice(0, 16)}…)`);
      } catch (e) {
        problems.push(`${f.path}: ${why(e)}`);
      }
    }
    if (extra) problems.push(...await extra(hasher.warnings).catch((e: Error) => [`backing chain: ${e.message}`]));
  }
  const ok = problems.length === 0;
  const record = { result: ok ? 'ok' : 'failed', at: ctx.now().toISOString(), problems, bytes };
  // The verdict goes only into a real directory (a symlink where a backup should be is not written through).
  if ((await lstat(b.dir).catch(() => undefined))?.isDirectory()) await ctx.storage.writeFile(b.dir, VERIFY_FILE, JSON.stringify(record, null, 2) + '\n');
  return { id: b.id, ok, problems, bytes, ms: Math.round(performance.now() - t0), warnings: hasher.warnings, ...(ok ? {} : { failedPoint: b.id }) };
}

/** Where a VM's images are read: its hypervisor (or the restore's target host), and its backup directory as that host sees it. */
export interface ImageReader { host: Host; vmDirOnHost: string }

export function imageReaderFor(ctx: EngineContext, vm: Pick<Vm, 'name' | 'hypervisor'>, hostName = vm.hypervisor): ImageReader {
  const host = ctx.hosts.get(hostName);
  return { host, vmDirOnHost: vmDir(host.hv.storageRoot, vm.hypervisor, vm.name) };
}

/**
 * Verifies the point `b` and its chain (oldest first): each ancestor and the point are hashed and
 * recorded on their own, with their images' backing chain checked; the point fails when any of
 * them fails, and `failedPoint` names the first that did. `seen` reuses results within one command.
 */
export async function verifyPoint(ctx: EngineContext, list: readonly StoredBackup[], b: StoredBackup, reader: ImageReader, seen = new Map<string, VerifyResult>()): Promise<VerifyResult> {
  const t0 = performance.now();
  const byId = new Map(list.map((x) => [x.id, x]));
  // The manifests' lineage, followed even through a point the listing found corrupt (a wrong size):
  // its images' headers are still checked; chainOf says whether the chain is whole.
  const chain = { ...chainOf(list.map((x) => (x.manifest ? { ...x, corrupt: [] } : x)), b.id), broken: chainOf(list, b.id).broken };
  const results: VerifyResult[] = [];
  for (let i = 0; i < chain.ids.length; i++) {
    const id = chain.ids[i]!;
    const points = chain.ids.slice(0, i + 1).map((x) => byId.get(x)!);
    // A chain cut off from its full (a missing ancestor) is reported once below, not as each image's problem.
    const fromFull = points[0]?.manifest !== undefined && points[0].manifest.kind !== 'incremental';
    const r = seen.get(id) ?? await verifyBackup(ctx, byId.get(id)!, fromFull ? (w) => chainImageProblems(points, reader, w) : undefined);
    seen.set(id, r);
    results.push(r);
  }
  const own = results.at(-1)?.id === b.id ? results.at(-1)! : undefined;
  const failed = results.find((r) => !r.ok);
  const problems = [
    ...(chain.broken !== undefined ? [`the chain of ${b.id} is broken: ${chain.broken}`] : []),
    ...results.filter((r) => !r.ok && r.id !== b.id).map((r) => `ancestor ${r.id} failed verification: ${r.problems.join('; ')}`),
    ...(own?.problems ?? []),
  ];
  const failedPoint = failed?.id ?? (chain.broken !== undefined ? b.id : undefined);
  return {
    id: b.id, ok: problems.length === 0, problems,
    bytes: results.reduce((n, r) => n + r.bytes, 0), ms: Math.round(performance.now() - t0),
    warnings: [...new Set(results.flatMap((r) => r.warnings))],
    ...(failedPoint !== undefined && problems.length ? { failedPoint } : {}),
  };
}

export type VerifySelection = { backup: string } | { latest: true } | { all: true };

export async function verifyVm(ctx: EngineContext, vm: Vm, sel: VerifySelection): Promise<{ run: RunRecord; results: VerifyResult[] }> {
  const run = newRun(ctx, 'verify', vm);
  const list = await ctx.storage.list(vm.hypervisor, vm.name);
  const chosen = 'backup' in sel ? list.filter((b) => b.id === sel.backup) : 'latest' in sel ? list.slice(-1) : list;
  const results: VerifyResult[] = [];
  if (!chosen.length) {
    run.status = 'failed';
    run.error = 'backup' in sel ? `no backup ${sel.backup} of ${vm.name}` : `${vm.name} has no backup to verify`;
  } else {
    const reader = imageReaderFor(ctx, vm);
    const seen = new Map<string, VerifyResult>();
    for (const b of chosen) results.push(await verifyPoint(ctx, list, b, reader, seen));
    run.warnings.push(...new Set(results.flatMap((r) => r.warnings)));
    const bad = results.filter((r) => !r.ok);
    run.status = bad.length ? 'failed' : 'ok';
    if (bad.length) run.error = bad.map((r) => `${r.id}${r.failedPoint && r.failedPoint !== r.id ? ` (its chain fails at ${r.failedPoint})` : ''}: ${r.problems.join('; ')}`).join(' | ');
    run.backupId = chosen.at(-1)!.id;
    run.sizeBytes = [...seen.values()].reduce((n, r) => n + r.bytes, 0);
  }
  run.finished = ctx.now().toISOString();
  // The run's own log (store/run-logs.ts): one line per point checked, then the outcome.
  const log = ctx.log.child({ run: run.id, vm: vm.name, hypervisor: vm.hypervisor });
  for (const r of results) log[r.ok ? 'info' : 'error']({ backup: r.id, bytes: r.bytes, ms: r.ms, ...(r.ok ? {} : { err: r.problems.join('; ') }) }, 'verify point');
  log.info({ status: run.status, warnings: run.warnings, error: run.error }, 'verify finished');
  await ctx.store.saveRun(run);
  if (run.status === 'failed') await ctx.notifier.notify({ kind: 'failure', run });
  else await ctx.notifier.notify({ kind: run.warnings.length ? 'warning' : 'success', run });
  return { run, results };
}
