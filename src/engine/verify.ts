// `vmbackup verify`: re-hash a backup's files against its manifest and checksums.sha256, and
// record the result beside them (verification.json) and in the state store. A single flipped
// byte marks the backup bad, which retention then treats as not a good restore point.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKSUM_FILE, VERIFY_FILE } from '../core/backup-layout.js';
import { parseChecksums } from '../core/manifest.js';
import type { Vm } from '../core/model.js';
import type { StoredBackup } from '../adapters/storage/backup-store.js';
import { sha256File } from '../adapters/storage/hash.js';
import type { RunRecord } from '../adapters/store/state-store.js';
import { newRun, type EngineContext } from './context.js';

export interface VerifyResult { id: string; ok: boolean; problems: string[]; bytes: number; ms: number }

/** Checks one stored backup; pure reading, then one small atomic write of the verdict. */
export async function verifyBackup(ctx: EngineContext, b: StoredBackup): Promise<VerifyResult> {
  const t0 = performance.now();
  const problems: string[] = [];
  let bytes = 0;
  if (!b.manifest) problems.push('backup-metadata.json is missing or unreadable');
  let sums = new Map<string, string>();
  try {
    const parsed = parseChecksums(await readFile(join(b.dir, CHECKSUM_FILE), 'utf8'));
    sums = parsed.entries;
    if (parsed.bad.length) problems.push(`${CHECKSUM_FILE}: ${parsed.bad.length} malformed line(s)`);
  } catch {
    problems.push(`${CHECKSUM_FILE} is missing`);
  }
  for (const f of b.manifest?.files ?? []) {
    if (sums.get(f.path) !== f.sha256) problems.push(`${f.path}: ${CHECKSUM_FILE} and the manifest disagree`);
    try {
      const h = await sha256File(join(b.dir, f.path));
      bytes += h.bytes;
      if (h.bytes !== f.size_bytes) problems.push(`${f.path}: ${h.bytes} bytes, expected ${f.size_bytes}`);
      if (h.sha256 !== f.sha256) problems.push(`${f.path}: checksum mismatch (sha256 ${h.sha256.slice(0, 16)}…, expected ${f.sha256.slice(0, 16)}…)`);
    } catch (e) {
      problems.push(`${f.path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message}`);
    }
  }
  const ok = problems.length === 0;
  const record = { result: ok ? 'ok' : 'failed', at: ctx.now().toISOString(), problems, bytes };
  await ctx.storage.writeFile(b.dir, VERIFY_FILE, JSON.stringify(record, null, 2) + '\n');
  return { id: b.id, ok, problems, bytes, ms: Math.round(performance.now() - t0) };
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
