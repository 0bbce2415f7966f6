// Pure parsers for virsh and qemu-img output: kept apart from the calls so they are table-tested.

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
}

interface RawInfo {
  filename?: string; format?: string; 'virtual-size'?: number; 'actual-size'?: number;
  'backing-filename'?: string; 'full-backing-filename'?: string; 'backing-filename-format'?: string; dirty?: boolean;
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
  }));
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
