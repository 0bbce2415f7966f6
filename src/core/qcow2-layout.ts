// The layout of a standalone qcow2 (v3) written in one sequential pass, computed up front from the
// source's data extents (`qemu-img map`): header, refcount table and blocks, L1, L2 tables, then
// the data clusters in guest order. Knowing every offset before the first byte goes out is what
// lets the writer hash the image as it writes it, instead of reading it back afterwards.
// Format reference: qemu's docs/interop/qcow2.txt. Pure: no I/O.

export const CLUSTER_BITS = 16;
export const CLUSTER = 1 << CLUSTER_BITS;
const L2_ENTRIES = CLUSTER / 8; // 8-byte entries: one L2 table maps 512 MiB
const REFCOUNT_ORDER = 4; // 16-bit refcounts, qemu's default
const REFCOUNTS_PER_BLOCK = (CLUSTER * 8) >> REFCOUNT_ORDER;
const HEADER_LENGTH = 112; // v3 header incl. the compression type byte, padded to 8
const COPIED = 1n << 63n; // "refcount is exactly one": set on every L1 and L2 entry we write

/** One allocated range of the source: guest bytes [start, start+length) live at `offset` in the source file. */
export interface DataExtent { start: number; length: number; offset: number }

/** Consecutive guest clusters stored consecutively in the output, starting at output cluster `at`. */
export interface ClusterRun { first: number; count: number; at: number }

export interface Qcow2Layout {
  virtualSize: number;
  l1Entries: number;
  refcountTableClusters: number;
  refcountBlocks: number;
  l1Clusters: number;
  /** L1 index of each L2 table, in output order. */
  l2Tables: number[];
  runs: ClusterRun[];
  /** Output clusters before the first data cluster: header + refcount + L1 + L2. */
  metadataClusters: number;
  totalClusters: number;
  fileSize: number;
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** Guest cluster runs touched by the extents (sorted, merged). Extents may overlap or be unsorted. */
export function clusterRuns(extents: readonly DataExtent[]): { first: number; count: number }[] {
  const spans = extents.filter((e) => e.length > 0)
    .map((e) => ({ first: Math.floor(e.start / CLUSTER), end: ceilDiv(e.start + e.length, CLUSTER) }))
    .sort((a, b) => a.first - b.first);
  const out: { first: number; count: number }[] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last && s.first <= last.first + last.count) last.count = Math.max(last.count, s.end - last.first);
    else out.push({ first: s.first, count: s.end - s.first });
  }
  return out;
}

export function planLayout(virtualSize: number, extents: readonly DataExtent[]): Qcow2Layout {
  if (!Number.isSafeInteger(virtualSize) || virtualSize <= 0) throw new Error(`virtual size ${virtualSize} is not a positive integer`);
  for (const e of extents) {
    if (e.start < 0 || e.length < 0 || e.offset < 0 || e.start + e.length > virtualSize) throw new Error(`extent ${JSON.stringify(e)} lies outside the ${virtualSize}-byte disk`);
  }
  const guestRuns = clusterRuns(extents);
  const dataClusters = guestRuns.reduce((n, r) => n + r.count, 0);
  const l1Entries = ceilDiv(virtualSize, CLUSTER * L2_ENTRIES);
  const l2Tables: number[] = [];
  for (const r of guestRuns) {
    for (let t = Math.floor(r.first / L2_ENTRIES); t <= Math.floor((r.first + r.count - 1) / L2_ENTRIES); t++) {
      if (l2Tables[l2Tables.length - 1] !== t) l2Tables.push(t);
    }
  }
  const l1Clusters = ceilDiv(l1Entries * 8, CLUSTER);
  // The refcount blocks must cover every cluster, themselves included: iterate to the fixpoint.
  let refcountBlocks = 1;
  let refcountTableClusters = 1;
  for (;;) {
    const total = 1 + refcountTableClusters + refcountBlocks + l1Clusters + l2Tables.length + dataClusters;
    const blocks = ceilDiv(total, REFCOUNTS_PER_BLOCK);
    const table = ceilDiv(blocks * 8, CLUSTER);
    if (blocks === refcountBlocks && table === refcountTableClusters) break;
    refcountBlocks = Math.max(refcountBlocks, blocks);
    refcountTableClusters = Math.max(refcountTableClusters, table);
  }
  const metadataClusters = 1 + refcountTableClusters + refcountBlocks + l1Clusters + l2Tables.length;
  let at = metadataClusters;
  const runs = guestRuns.map((r) => { const run = { ...r, at }; at += r.count; return run; });
  return { virtualSize, l1Entries, refcountTableClusters, refcountBlocks, l1Clusters, l2Tables, runs, metadataClusters, totalClusters: at, fileSize: at * CLUSTER };
}

/** Output offsets of the metadata areas (all cluster-aligned). */
function areas(l: Qcow2Layout): { refcountTable: number; refcountBlocks: number; l1: number; l2: number } {
  const refcountTable = 1;
  const refcountBlocks = refcountTable + l.refcountTableClusters;
  const l1 = refcountBlocks + l.refcountBlocks;
  return { refcountTable, refcountBlocks, l1, l2: l1 + l.l1Clusters };
}

function header(l: Qcow2Layout, buf: Buffer): void {
  const a = areas(l);
  buf.writeUInt32BE(0x514649fb, 0); // "QFI\xfb"
  buf.writeUInt32BE(3, 4); // version
  // 8: backing file offset, 16: its size: none
  buf.writeUInt32BE(CLUSTER_BITS, 20);
  buf.writeBigUInt64BE(BigInt(l.virtualSize), 24);
  // 32: crypt method none
  buf.writeUInt32BE(l.l1Entries, 36);
  buf.writeBigUInt64BE(BigInt(a.l1 * CLUSTER), 40);
  buf.writeBigUInt64BE(BigInt(a.refcountTable * CLUSTER), 48);
  buf.writeUInt32BE(l.refcountTableClusters, 56);
  // 60: no snapshots; 72/80/88: no incompatible, compatible or autoclear features
  buf.writeUInt32BE(REFCOUNT_ORDER, 96);
  buf.writeUInt32BE(HEADER_LENGTH, 100);
  // 104: compression type zlib (0); then the end-of-extensions marker (type 0, length 0) at 112
}

/**
 * The bytes of metadata cluster `i` (0 ≤ i < metadataClusters), written into `buf` (one cluster,
 * zeroed by the caller). Built one cluster at a time so a multi-TiB disk's tables never sit in memory whole.
 */
export function metadataCluster(l: Qcow2Layout, i: number, buf: Buffer): void {
  const a = areas(l);
  if (i === 0) return header(l, buf);
  if (i < a.refcountBlocks) { // refcount table: offsets of the refcount blocks
    const firstEntry = (i - a.refcountTable) * L2_ENTRIES;
    for (let e = 0; e < L2_ENTRIES && firstEntry + e < l.refcountBlocks; e++) buf.writeBigUInt64BE(BigInt((a.refcountBlocks + firstEntry + e) * CLUSTER), e * 8);
    return;
  }
  if (i < a.l1) { // refcount blocks: every cluster of the file is used exactly once
    const firstCluster = (i - a.refcountBlocks) * REFCOUNTS_PER_BLOCK;
    const n = Math.min(REFCOUNTS_PER_BLOCK, l.totalClusters - firstCluster);
    for (let e = 0; e < n; e++) buf.writeUInt16BE(1, e * 2);
    return;
  }
  if (i < a.l2) { // L1: where each L2 table is
    const firstEntry = (i - a.l1) * L2_ENTRIES;
    l.l2Tables.forEach((t, k) => {
      if (t >= firstEntry && t < firstEntry + L2_ENTRIES) buf.writeBigUInt64BE(BigInt((a.l2 + k) * CLUSTER) | COPIED, (t - firstEntry) * 8);
    });
    return;
  }
  const table = l.l2Tables[i - a.l2];
  if (table === undefined) throw new Error(`cluster ${i} is not metadata`);
  const lo = table * L2_ENTRIES;
  const hi = lo + L2_ENTRIES;
  for (const r of l.runs) {
    if (r.first + r.count <= lo || r.first >= hi) continue;
    for (let g = Math.max(lo, r.first); g < Math.min(hi, r.first + r.count); g++) {
      buf.writeBigUInt64BE(BigInt((r.at + g - r.first) * CLUSTER) | COPIED, (g - lo) * 8);
    }
  }
}

/** A piece of one output chunk: `length` bytes at `into` in the chunk come from `from` in the source. */
export interface ChunkRead { into: number; from: number; length: number }
/** `length` output bytes at `fileOffset`; whatever no read covers is zero. */
export interface DataChunk { fileOffset: number; length: number; reads: ChunkRead[] }

/**
 * The data part of the file as chunks of at most `chunkBytes` (a multiple of the cluster size),
 * in file order, each with the source reads that fill it. Reads contiguous in both the chunk and
 * the source are merged, so a typical extent is one read per chunk.
 */
export function* dataChunks(l: Qcow2Layout, extents: readonly DataExtent[], chunkBytes: number): Generator<DataChunk> {
  const perChunk = Math.max(1, Math.floor(chunkBytes / CLUSTER));
  const sorted = extents.filter((e) => e.length > 0).sort((a, b) => a.start - b.start);
  let k = 0; // first extent that may still intersect
  for (const r of l.runs) {
    for (let c = 0; c < r.count; c += perChunk) {
      const n = Math.min(perChunk, r.count - c);
      const gStart = (r.first + c) * CLUSTER;
      const gEnd = Math.min(gStart + n * CLUSTER, l.virtualSize);
      const reads: ChunkRead[] = [];
      while (k < sorted.length && sorted[k]!.start + sorted[k]!.length <= gStart) k++;
      for (let j = k; j < sorted.length && sorted[j]!.start < gEnd; j++) {
        const e = sorted[j]!;
        const s = Math.max(e.start, gStart);
        const t = Math.min(e.start + e.length, gEnd);
        if (t <= s) continue;
        const piece = { into: s - gStart, from: e.offset + (s - e.start), length: t - s };
        const prev = reads[reads.length - 1];
        if (prev && prev.into + prev.length === piece.into && prev.from + prev.length === piece.from) prev.length += piece.length;
        else reads.push(piece);
      }
      yield { fileOffset: (r.at + c) * CLUSTER, length: n * CLUSTER, reads };
    }
  }
}
