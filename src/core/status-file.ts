// Reads the restore points recorded in `status/vms/<vm>.yaml` (written back by the daemon), so
// that `plan` can say which existing backups a retention change would prune.
import { parse } from 'yaml';
import type { RestorePoint } from './model.js';

const ID_RE = /^\d{4}-\d{2}-\d{2}-\d{6}$/;

/** The restore points of one status file; malformed entries are skipped, never guessed. */
export function parseStatusRestorePoints(text: string): { vm?: string; points: RestorePoint[] } {
  let doc: unknown;
  try { doc = parse(text, { maxAliasCount: 100 }); } catch { return { points: [] }; }
  if (!doc || typeof doc !== 'object') return { points: [] };
  const d = doc as Record<string, unknown>;
  const list = Array.isArray(d.restore_points) ? d.restore_points : [];
  const points: RestorePoint[] = [];
  for (const raw of list) {
    if (!raw || typeof raw !== 'object') continue;
    const p = raw as Record<string, unknown>;
    const id = String(p.id ?? '');
    if (!ID_RE.test(id)) continue;
    const time = p.time instanceof Date ? p.time.toISOString() : typeof p.time === 'string' ? p.time : idToIso(id);
    points.push({
      id,
      time,
      status: p.status === 'failed' ? 'failed' : 'ok',
      verify: p.verify === 'failed' ? 'failed' : p.verify === 'ok' ? 'ok' : 'none',
      ...(p.kind === 'full' || p.kind === 'incremental' ? { kind: p.kind } : {}),
      ...(typeof p.parent === 'string' && ID_RE.test(p.parent) ? { parent: p.parent } : {}),
    });
  }
  return { ...(typeof d.vm === 'string' ? { vm: d.vm } : {}), points };
}

/** `2026-02-01-220015` → `2026-02-01T22:00:15Z` (backup ids are UTC). */
export function idToIso(id: string): string {
  return `${id.slice(0, 10)}T${id.slice(11, 13)}:${id.slice(13, 15)}:${id.slice(15, 17)}Z`;
}
