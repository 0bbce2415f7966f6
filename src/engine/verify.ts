// `vmbackup verify`: re-hash a backup's files against its manifest and checksums.sha256, and
// record the result beside them (verification.json) and in the state store. A single flipped
// byte marks the backup bad, which retention then treats as not a good restore point.
// Storage is untrusted on read: manifest paths must be plain names inside the backup directory,
// files are opened without following symlinks and must be regular, and no file is read past
// its manifest size + 1 byte (so /dev/zero, a FIFO or a huge file cannot hang verify).
// The images are hashed on the VM's ssh hypervisor when it has one (./verify-hasher.ts).
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKSUM_FILE, VERIFY_FILE } from '../core/backup-layout.js';
import { manifestProblems, parseChecksums } from '../core/manifest.js';
import type { Vm } from '../core/model.js';
import type { StoredBackup } from '../adapters/storage/backup-store.js';
import { readRegularText, UntrustedFileError } from '../adapters/storage/read-untrusted.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import { newRun, type EngineContext } from './context.js';
import { hasherFor } from './verify-hasher.js';

export interface VerifyResult { id: string; ok: boolean; problems: string[]; bytes: number; ms: number; warnings: string[] }

const why = (e: unknown): string =>
  e instanceof UntrustedFileError ? e.why : (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message;

/** Checks one stored backup; pure reading, then one small atomic write of the verdict. */
export async function verifyBackup(ctx: EngineContext, b: StoredBackup): Promise<VerifyResult> {
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
  }
  const ok = problems.length === 0;
  const record = { result: ok ? 'ok' : 'failed', at: ctx.now().toISOString(), problems, bytes };
  // The verdict goes only into a real directory (a symlink where a backup should be is not written through).
  if ((await lstat(b.dir).catch(() => undefined))?.isDirectory()) await ctx.storage.writeFile(b.dir, VERIFY_FILE, JSON.stringify(record, null, 2) + '\n');
  return { id: b.id, ok, problems, bytes, ms: Math.round(performance.now() - t0), warnings: hasher.warnings };
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
    for (const b of chosen) results.push(await verifyBackup(ctx, b));
    run.warnings.push(...new Set(results.flatMap((r) => r.warnings)));
    const bad = results.filter((r) => !r.ok);
    run.status = bad.length ? 'failed' : 'ok';
    if (bad.length) run.error = bad.map((r) => `${r.id}: ${r.problems.join('; ')}`).join(' | ');
    run.backupId = chosen.at(-1)!.id;
    run.sizeBytes = results.reduce((n, r) => n + r.bytes, 0);
  }
  run.finished = ctx.now().toISOString();
  await ctx.store.saveRun(run);
  if (run.status === 'failed') await ctx.notifier.notify({ kind: 'failure', run });
  else await ctx.notifier.notify({ kind: run.warnings.length ? 'warning' : 'success', run });
  return { run, results };
}
