// The one rule for images read from backup storage (verify, restore, restore --disk, test-restore):
// a full's image has no backing file; an incremental's whole backing chain is exactly its recorded
// parents' images of the same disk, inside the same VM directory, all qcow2, and no image anywhere
// in the chain has an external data file. Checked twice: on the headers (before qemu opens any
// file an image names) and on `qemu-img info --backing-chain` (untrusted JSON). Pure.
import { posix } from 'node:path';
import type { Manifest } from '../manifest.js';
import { backingProblems } from './backing.js';
import type { Qcow2HeaderFacts } from './qcow2-header.js';

type M = Pick<Manifest, 'backup_id' | 'files'> & Partial<Pick<Manifest, 'kind' | 'parent_backup_id'>>;

/** One image of one disk in a chain. */
export interface ChainLink { backupId: string; file: string }

/** Per disk of the newest point: its images from the full to that point (oldest first); or the problems. */
export function diskChains(chain: readonly M[]): { disks: Map<string, ChainLink[]>; problems: string[] } {
  const problems: string[] = [];
  chain.forEach((m, i) => {
    if (i === 0 && m.kind === 'incremental') problems.push(`${m.backup_id}: the chain does not start with a full`);
    if (i > 0 && m.kind !== 'incremental') problems.push(`${m.backup_id}: a full in the middle of a chain`);
    problems.push(...backingProblems(m, i > 0 ? chain[i - 1] : undefined).map((p) => `${m.backup_id}: ${p}`));
  });
  const disks = new Map<string, ChainLink[]>();
  const top = chain.at(-1);
  for (const f of top?.files ?? []) {
    if (f.target === undefined || f.kind !== undefined) continue;
    const links: ChainLink[] = [];
    for (const m of chain) {
      const img = m.files.find((x) => x.target === f.target && x.kind === undefined);
      if (img === undefined) { problems.push(`${m.backup_id}: has no image of disk ${f.target}`); break; }
      links.push({ backupId: m.backup_id!, file: img.path });
    }
    disks.set(f.target, links);
  }
  return { disks, problems };
}

const rel = (l: ChainLink): string => `../${l.backupId}/${l.file}`;

/** The headers of one disk's images (same order as `links`) against the rule. */
export function headerProblems(links: readonly ChainLink[], headers: readonly (Qcow2HeaderFacts | { problem: string })[]): string[] {
  const out: string[] = [];
  links.forEach((l, i) => {
    const h = headers[i];
    const name = `${l.backupId}/${l.file}`;
    if (h === undefined) { out.push(`${name}: header not read`); return; }
    if ('problem' in h) { out.push(`${name} ${h.problem}`); return; }
    if (h.dataFile !== undefined) out.push(`${name}: has an external data file ${JSON.stringify(h.dataFile)}; refusing`);
    const want = i === 0 ? undefined : rel(links[i - 1]!);
    if (h.backing !== want) {
      out.push(want === undefined
        ? `${name}: has a backing file ${JSON.stringify(h.backing)}, but a full must have none; refusing`
        : `${name}: backing file ${JSON.stringify(h.backing)} is not the recorded parent ${want}; refusing`);
    } else if (want !== undefined && h.backingFormat !== 'qcow2') {
      out.push(`${name}: backing format ${JSON.stringify(h.backingFormat)} is not qcow2; refusing`);
    }
  });
  return out;
}

const str = (o: Record<string, unknown>, k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);

/**
 * `qemu-img info --output=json --backing-chain` of the newest image (top first) against the rule:
 * exactly the links, each at `<vmDirOnHost>/<id>/<file>` (normalised), qcow2, no data file.
 */
export function qemuChainProblems(links: readonly ChainLink[], vmDirOnHost: string, info: unknown): string[] {
  if (!Array.isArray(info)) return ['qemu-img info --backing-chain did not return a list'];
  const top = links.at(-1);
  const name = top ? `${top.backupId}/${top.file}` : '?';
  if (info.length !== links.length) return [`${name}: qemu-img sees a backing chain of ${info.length} image(s), the manifests record ${links.length}; refusing`];
  const out: string[] = [];
  const norm = (p: string | undefined): string | undefined => (p === undefined ? undefined : posix.normalize(p));
  info.forEach((raw: unknown, k) => {
    const l = links[links.length - 1 - k]!;
    const parent = links[links.length - 2 - k];
    const at = `${l.backupId}/${l.file}`;
    if (typeof raw !== 'object' || raw === null) { out.push(`${at}: qemu-img info entry is not an object`); return; }
    const o = raw as Record<string, unknown>;
    const want = posix.join(vmDirOnHost, l.backupId, l.file);
    if (norm(str(o, 'filename')) !== want) out.push(`${at}: qemu-img opened ${JSON.stringify(str(o, 'filename'))}, not ${want}; refusing`);
    if (str(o, 'format') !== 'qcow2') out.push(`${at}: format ${JSON.stringify(o.format)} is not qcow2; refusing`);
    const fs = o['format-specific'] as { data?: Record<string, unknown> } | undefined;
    if (fs?.data?.['data-file'] !== undefined) out.push(`${at}: has an external data file ${JSON.stringify(fs.data['data-file'])}; refusing`);
    const backing = str(o, 'backing-filename');
    if (parent === undefined) {
      if (backing !== undefined || o['full-backing-filename'] !== undefined) out.push(`${at}: a full's image has a backing file ${JSON.stringify(backing)}; refusing`);
      return;
    }
    if (backing !== rel(parent)) out.push(`${at}: backing file ${JSON.stringify(backing)} is not the recorded parent ${rel(parent)}; refusing`);
    if (norm(str(o, 'full-backing-filename')) !== posix.join(vmDirOnHost, parent.backupId, parent.file)) out.push(`${at}: backing file resolves to ${JSON.stringify(o['full-backing-filename'])}, outside the recorded parent; refusing`);
    if (str(o, 'backing-filename-format') !== 'qcow2') out.push(`${at}: backing format ${JSON.stringify(o['backing-filename-format'])} is not qcow2; refusing`);
  });
  return out;
}
