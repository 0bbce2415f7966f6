// The streaming qcow2 layout, table-driven: which clusters are data, where the tables go, how the
// source reads are batched, and that the header and tables say what the layout says. The bytes
// are checked by the real qemu-img in test/adapters/qcow2-writer.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CLUSTER, clusterRuns, dataChunks, metadataCluster, planLayout, type DataExtent } from '../../src/core/qcow2-layout.js';
import { parseQemuImgMap } from '../../src/adapters/libvirt/parse.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ext = (start: number, length: number, offset = start): DataExtent => ({ start, length, offset });

describe('clusterRuns', () => {
  const cases: { name: string; extents: DataExtent[]; runs: { first: number; count: number }[] }[] = [
    { name: 'nothing', extents: [], runs: [] },
    { name: 'one cluster-aligned extent', extents: [ext(0, 2 * CLUSTER)], runs: [{ first: 0, count: 2 }] },
    { name: 'unaligned extent touches both clusters it crosses', extents: [ext(CLUSTER - 512, 1024)], runs: [{ first: 0, count: 2 }] },
    { name: 'adjacent extents merge', extents: [ext(0, CLUSTER), ext(CLUSTER, CLUSTER)], runs: [{ first: 0, count: 2 }] },
    { name: 'two extents in one cluster are one cluster', extents: [ext(0, 4096), ext(8192, 4096)], runs: [{ first: 0, count: 1 }] },
    { name: 'unsorted input, gap kept', extents: [ext(10 * CLUSTER, CLUSTER), ext(0, CLUSTER)], runs: [{ first: 0, count: 1 }, { first: 10, count: 1 }] },
    { name: 'empty extents ignored', extents: [ext(5 * CLUSTER, 0)], runs: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(clusterRuns(c.extents), c.runs));
});

describe('planLayout', () => {
  const cases: { name: string; size: number; extents: DataExtent[]; want: Partial<ReturnType<typeof planLayout>> }[] = [
    {
      name: 'empty 1 GiB disk: header, refcount table, one refcount block, L1, no L2, no data',
      size: GiB, extents: [],
      want: { l1Entries: 2, refcountTableClusters: 1, refcountBlocks: 1, l1Clusters: 1, l2Tables: [], metadataClusters: 4, totalClusters: 4, fileSize: 4 * CLUSTER },
    },
    {
      name: 'data in the first and third 512 MiB regions: two L2 tables',
      size: 2 * GiB, extents: [ext(0, MiB), ext(1024 * MiB + CLUSTER, CLUSTER)],
      want: { l1Entries: 4, l2Tables: [0, 2], metadataClusters: 6, totalClusters: 6 + 16 + 1 },
    },
    {
      name: 'an extent across a 512 MiB boundary needs both L2 tables',
      size: GiB, extents: [ext(512 * MiB - CLUSTER, 2 * CLUSTER)],
      want: { l2Tables: [0, 1], totalClusters: 4 + 2 + 2 },
    },
    {
      name: 'more than 32768 clusters: a second refcount block',
      size: 4 * GiB, extents: [ext(0, 3 * GiB)],
      want: { refcountBlocks: 2, l2Tables: [0, 1, 2, 3, 4, 5] },
    },
    {
      name: 'virtual size not a multiple of the cluster size',
      size: 100 * MiB + 512, extents: [ext(100 * MiB, 512)],
      want: { l1Entries: 1, totalClusters: 1 + 1 + 1 + 1 + 1 + 1 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const l = planLayout(c.size, c.extents);
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(l[k as keyof typeof l], v, k);
      assert.equal(l.totalClusters, l.metadataClusters + l.runs.reduce((n, r) => n + r.count, 0));
      assert.ok(l.refcountBlocks * 32768 >= l.totalClusters, 'the refcount blocks cover every cluster');
    });
  }

  test('refuses extents outside the disk and a zero size', () => {
    assert.throws(() => planLayout(MiB, [ext(MiB - 512, 1024)]), /outside the 1048576-byte disk/);
    assert.throws(() => planLayout(0, []), /not a positive integer/);
  });

  test('property: runs are sorted, disjoint, contiguous in the file, and cover every extent', () => {
    fc.assert(fc.property(fc.array(fc.record({ c: fc.integer({ min: 0, max: 20_000 }), off: fc.integer({ min: 0, max: CLUSTER - 1 }), len: fc.integer({ min: 1, max: 4 * CLUSTER }) }), { maxLength: 40 }), (xs) => {
      const size = 20_005 * CLUSTER;
      const extents = xs.map((x) => ext(x.c * CLUSTER + x.off, x.len, 0));
      const l = planLayout(size, extents);
      let at = l.metadataClusters;
      for (const [i, r] of l.runs.entries()) {
        assert.equal(r.at, at);
        at += r.count;
        if (i) assert.ok(r.first > l.runs[i - 1]!.first + l.runs[i - 1]!.count, 'disjoint and not adjacent');
      }
      for (const e of extents) {
        for (let g = Math.floor(e.start / CLUSTER); g < Math.ceil((e.start + e.length) / CLUSTER); g++) {
          assert.ok(l.runs.some((r) => g >= r.first && g < r.first + r.count), `cluster ${g} is stored`);
        }
      }
    }), { numRuns: 200 });
  });
});

describe('metadataCluster', () => {
  const l = planLayout(2 * GiB, [ext(0, MiB), ext(1024 * MiB, 2 * CLUSTER)]);
  const cluster = (i: number): Buffer => { const b = Buffer.alloc(CLUSTER); metadataCluster(l, i, b); return b; };

  test('header: magic, v3, cluster bits, size, L1 and refcount table where the layout puts them', () => {
    const h = cluster(0);
    assert.equal(h.readUInt32BE(0), 0x514649fb);
    assert.equal(h.readUInt32BE(4), 3);
    assert.equal(h.readUInt32BE(20), 16);
    assert.equal(h.readBigUInt64BE(24), BigInt(2 * GiB));
    assert.equal(h.readUInt32BE(36), l.l1Entries);
    assert.equal(h.readBigUInt64BE(48), BigInt(CLUSTER));
    assert.equal(h.readBigUInt64BE(40), BigInt(3 * CLUSTER));
    assert.equal(h.readUInt32BE(96), 4);
    assert.equal(h.readUInt32BE(100), 112);
    assert.equal(h.readBigUInt64BE(112), 0n, 'end of header extensions');
  });

  test('refcounts: one for every cluster of the file, zero after', () => {
    const rb = cluster(2);
    for (let i = 0; i < l.totalClusters; i++) assert.equal(rb.readUInt16BE(i * 2), 1);
    assert.equal(rb.readUInt16BE(l.totalClusters * 2), 0);
  });

  test('L1 points at the L2 tables (copied flag set); L2 entries point at consecutive data clusters', () => {
    const l1 = cluster(3);
    const copied = 1n << 63n;
    assert.equal(l1.readBigUInt64BE(0), BigInt(4 * CLUSTER) | copied);
    assert.equal(l1.readBigUInt64BE(8), 0n);
    assert.equal(l1.readBigUInt64BE(16), BigInt(5 * CLUSTER) | copied);
    const l2a = cluster(4);
    for (let g = 0; g < 16; g++) assert.equal(l2a.readBigUInt64BE(g * 8), BigInt((6 + g) * CLUSTER) | copied);
    assert.equal(l2a.readBigUInt64BE(16 * 8), 0n);
    const l2b = cluster(5);
    assert.equal(l2b.readBigUInt64BE(0), BigInt(22 * CLUSTER) | copied);
    assert.equal(l2b.readBigUInt64BE(8), BigInt(23 * CLUSTER) | copied);
    assert.throws(() => cluster(6), /not metadata/);
  });
});

describe('dataChunks', () => {
  test('contiguous source → one read per chunk; chunk size respected; gaps left to zero', () => {
    const extents = [ext(0, 3 * MiB, 7 * CLUSTER), ext(4 * MiB + 512, 1024, 100 * MiB)];
    const l = planLayout(GiB, extents);
    const chunks = [...dataChunks(l, extents, 2 * MiB)];
    assert.deepEqual(chunks.map((c) => [c.fileOffset / CLUSTER, c.length / CLUSTER]), [[l.metadataClusters, 32], [l.metadataClusters + 32, 16], [l.metadataClusters + 48, 1]]);
    assert.deepEqual(chunks[0]!.reads, [{ into: 0, from: 7 * CLUSTER, length: 2 * MiB }]);
    assert.deepEqual(chunks[1]!.reads, [{ into: 0, from: 7 * CLUSTER + 2 * MiB, length: MiB }]);
    assert.deepEqual(chunks[2]!.reads, [{ into: 512, from: 100 * MiB, length: 1024 }]);
  });

  test('extents adjacent in the guest but not in the source stay separate reads', () => {
    const extents = [ext(0, CLUSTER, 9 * CLUSTER), ext(CLUSTER, CLUSTER, 3 * CLUSTER)];
    const [c] = [...dataChunks(planLayout(GiB, extents), extents, 8 * MiB)];
    assert.deepEqual(c!.reads, [{ into: 0, from: 9 * CLUSTER, length: CLUSTER }, { into: CLUSTER, from: 3 * CLUSTER, length: CLUSTER }]);
  });

  test('the last cluster of a disk whose size is not cluster-aligned reads only up to the end', () => {
    const size = CLUSTER + 4096;
    const extents = [ext(0, size)];
    const chunks = [...dataChunks(planLayout(size, extents), extents, 8 * MiB)];
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0]!.length, 2 * CLUSTER);
    assert.deepEqual(chunks[0]!.reads, [{ into: 0, from: 0, length: size }]);
  });
});

describe('parseQemuImgMap', () => {
  const cases: { name: string; json: unknown[]; want: DataExtent[] | null }[] = [
    { name: 'data with offsets; zero and unallocated ranges skipped', json: [{ start: 0, length: 131072, depth: 0, present: true, zero: false, data: true, offset: 327680 }, { start: 131072, length: 1024, depth: 0, present: false, zero: true, data: false }, { start: 200000, length: 4096, depth: 0, present: true, zero: true, data: false }], want: [ext(0, 131072, 327680)] },
    { name: 'data in a backing file: not streamable', json: [{ start: 0, length: 65536, depth: 1, present: true, zero: false, data: true, offset: 0 }], want: null },
    { name: 'compressed clusters have no offset: not streamable', json: [{ start: 0, length: 65536, depth: 0, present: true, zero: false, data: true, compressed: true }], want: null },
    { name: 'nothing allocated', json: [{ start: 0, length: GiB, depth: 0, present: false, zero: true, data: false }], want: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseQemuImgMap(JSON.stringify(c.json)), c.want));
});
