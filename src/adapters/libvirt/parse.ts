// Pure parsers for virsh and qemu-img output: kept apart from the calls so they are table-tested.
import type { DataExtent } from '../../core/qcow2-layout.js';

export type DomainState = 'running' | 'paused' | 'shut off' | 'in shutdown' | 'crashed' | 'pmsuspended' | 'idle' | 'unknown';

/** `virsh list --all` (Id, Name, State columns) → name → state. */
export function parseVirshList(out: string): Map<string, DomainState> {
  const m = new Map<string, DomainState>();
  for (const line of out.split('\n')) {
    const r = /^\s*(\d+|-)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (!r || r[2] === 'Name') continue;
    m.set(r[2]!, r[3] as DomainState);
  }
  return m;
}
export interface QemuImageInfo {
  filename: string;
  format: string;
  virtualSize: number;
  actualSize: number;
  backingFilename?: string;
  backingFormat?: string;
  /** qcow2 external data file: refused, data would live outside the image. */
  dataFile?: string;
  dirty: boolean;
  /** LUKS or legacy AES: its clusters are ciphertext, so only qemu-img may copy it. */
  encrypted: boolean;
}

interface RawInfo {
  filename?: string; format?: string; 'virtual-size'?: number; 'actual-size'?: number;
  'backing-filename'?: string; 'full-backing-filename'?: string; 'backing-filename-format'?: string; dirty?: boolean; encrypted?: boolean;
  'format-specific'?: { data?: { 'data-file'?: string } };
}

/** `qemu-img info --output=json [--backing-chain]`: one object or an array, top image first. */
export function parseQemuImgInfo(json: string): QemuImageInfo[] {
  const raw = JSON.parse(json) as RawInfo | RawInfo[];
  return (Array.isArray(raw) ? raw : [raw]).map((r) => ({
    filename: r.filename ?? '',
    format: r.format ?? '',
    virtualSize: r['virtual-size'] ?? 0,
    actualSize: r['actual-size'] ?? 0,
    ...(r['full-backing-filename'] ?? r['backing-filename'] ? { backingFilename: (r['full-backing-filename'] ?? r['backing-filename'])! } : {}),
    ...(r['backing-filename-format'] ? { backingFormat: r['backing-filename-format'] } : {}),
    ...(r['format-specific']?.data?.['data-file'] ? { dataFile: r['format-specific'].data['data-file'] } : {}),
    dirty: Boolean(r.dirty),
    encrypted: Boolean(r.encrypted),
  }));
}

interface RawMapEntry { start?: number; length?: number; depth?: number; zero?: boolean; data?: boolean; offset?: number; compressed?: boolean }

/**
 * `qemu-img map --output=json` → the extents holding data, each with its offset in the image
 * file. Null (copy with qemu-img instead) when some data is not stored plainly in this one file:
 * in a backing file (depth > 0) or compressed (no fixed offset).
 */
export function parseQemuImgMap(json: string): DataExtent[] | null {
  const out: DataExtent[] = [];
  for (const e of JSON.parse(json) as RawMapEntry[]) {
    if (!e.data || e.zero) continue;
    if ((e.depth ?? 0) !== 0 || e.compressed || typeof e.offset !== 'number' || typeof e.start !== 'number' || typeof e.length !== 'number') return null;
    out.push({ start: e.start, length: e.length, offset: e.offset });
  }
  return out;
}

/** `virsh blockjob DOM DISK --info --raw`: `cur=N end=M` plus the job type, or null when none. */
export function parseBlockJobRaw(out: string): { type: string; cur: number; end: number; ready: boolean } | null {
  if (/No current block job/i.test(out) || !out.trim()) return null;
  const num = (k: string): number => Number(new RegExp(`${k}=(\\d+)`).exec(out)?.[1] ?? 0);
  const type = /type=(\S+)/.exec(out)?.[1] ?? 'unknown';
  const cur = num('cur');
  const end = num('end');
  return { type, cur, end, ready: end > 0 && cur === end };
}

/** `virsh qemu-agent-command … guest-fsfreeze-status` → `thawed` | `frozen`. */
export function parseFreezeStatus(out: string): 'thawed' | 'frozen' | 'unknown' {
  try {
    const r = (JSON.parse(out) as { return?: string }).return;
    return r === 'thawed' || r === 'frozen' ? r : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `df -P -B1 PATH` → bytes available and total. */
export function parseDf(out: string): { totalBytes: number; availBytes: number; mount: string } | null {
  const line = out.trim().split('\n')[1];
  if (!line) return null;
  const f = line.trim().split(/\s+/);
  if (f.length < 6) return null;
  return { totalBytes: Number(f[1]), availBytes: Number(f[3]), mount: f.slice(5).join(' ') };
}
