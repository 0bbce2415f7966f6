import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chainOf, dependents, type ChainPoint } from '../../src/core/chain/points.js';
import { nextBackupKind, type NextKindInput } from '../../src/core/chain/next-kind.js';

const SHA = 'a'.repeat(64);
function pt(id: string, parent?: string, extra: Partial<ChainPoint> = {}, sizes: Record<string, number> = { vda: 1024 }): ChainPoint {
  return {
    id,
    manifest: {
      started: `${id.slice(0, 10)}T${id.slice(11, 13)}:${id.slice(13, 15)}:${id.slice(15, 17)}Z`,
      files: Object.entries(sizes).map(([t, s]) => ({ path: `vm-${t}.qcow2`, size_bytes: 1, sha256: SHA, target: t, format: 'qcow2', virtual_size_bytes: s })),
      ...(parent !== undefined ? { kind: 'incremental' as const, parent_backup_id: parent } : {}),
    },
    ...extra,
  };
}
const F = '2026-12-01-020000';
const I1 = '2026-12-02-020000';
const I2 = '2026-12-03-020000';
const I3 = '2026-12-04-020000';
const chain3 = [pt(F), pt(I1, F), pt(I2, I1)];

describe('chainOf', () => {
  const cases: { name: string; points: ChainPoint[]; id: string; ids: string[]; broken?: RegExp; notGood?: RegExp }[] = [
    { name: 'a full alone', points: [pt(F)], id: F, ids: [F] },
    { name: 'an old point without kind is a full', points: [pt(F), pt(I1)], id: I1, ids: [I1] },
    { name: 'incremental up to its full', points: chain3, id: I2, ids: [F, I1, I2] },
    { name: 'missing ancestor', points: [pt(F), pt(I2, I1)], id: I2, ids: [I2], broken: /ancestor 2026-12-02-020000 of .* is missing/ },
    { name: 'corrupt middle point', points: [pt(F), pt(I1, F, { corrupt: ['vm-vda.qcow2 is missing'] }), pt(I2, I1)], id: I2, ids: [I1, I2], broken: /ancestor 2026-12-02-020000 is corrupt/ },
    { name: 'verification failure in an ancestor', points: [pt(F, undefined, { verification: { result: 'failed' } }), pt(I1, F)], id: I1, ids: [F, I1], notGood: /ancestor 2026-12-01-020000 failed verification/ },
    { name: 'incremental naming no parent', points: [{ ...pt(I1), manifest: { ...pt(I1).manifest!, kind: 'incremental' } }], id: I1, ids: [I1], broken: /names no parent/ },
    { name: 'a loop', points: [pt(I1, I2), pt(I2, I1)], id: I2, ids: [I1, I2], broken: /loops/ },
    { name: 'the point itself missing', points: [pt(F)], id: I1, ids: [], broken: /point 2026-12-02-020000 .* is missing/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = chainOf(c.points, c.id);
      assert.deepEqual(r.ids, c.ids);
      if (c.broken) { assert.match(r.broken ?? '', c.broken); assert.equal(r.notGood, r.broken); }
      else assert.equal(r.broken, undefined);
      if (c.notGood) assert.match(r.notGood ?? '', c.notGood);
      if (!c.broken && !c.notGood) assert.equal(r.notGood, undefined);
    });
  }
});

describe('dependents', () => {
  test('every point whose chain passes through the id, transitively', () => {
    const pts = [...chain3, pt(I3, I2), pt('2026-12-05-020000')];
    assert.deepEqual(dependents(pts, F), [I1, I2, I3]);
    assert.deepEqual(dependents(pts, I2), [I3]);
    assert.deepEqual(dependents(pts, I3), []);
  });
  test('a loop ends', () => assert.deepEqual(dependents([pt(I1, I2), pt(I2, I1)], I1), [I2]));
});

describe('nextBackupKind', () => {
  const base: NextKindInput = {
    points: chain3,
    disks: [{ target: 'vda', format: 'qcow2', virtualSizeBytes: 1024 }],
    checkpoints: [`vmbackup-${F}`, `vmbackup-${I1}`, `vmbackup-${I2}`, 'someone-elses'],
    running: true,
    backupApi: true,
    storageId: 'nfs:1',
    previousStorageId: 'nfs:1',
    now: '2026-12-04T02:00:00Z',
  };
  const policy = { fullEvery: 7 };
  test('an incremental on the newest point when nothing forces a full', () => {
    const r = nextBackupKind(base, policy);
    assert.deepEqual({ kind: r.kind, parent: r.parent, warn: r.warn }, { kind: 'incremental', parent: I2, warn: false });
    assert.match(r.reason, /incremental on 2026-12-03-020000: point 4 of 7 in the chain of 2026-12-01-020000/);
  });
  const fulls: { name: string; input: Partial<NextKindInput>; policy?: { fullEvery: number; fullEveryDays?: number }; reason: RegExp; warn: boolean }[] = [
    { name: 'full_every 1', input: {}, policy: { fullEvery: 1 }, reason: /incremental backups are off/, warn: false },
    { name: 'VM shut off', input: { running: false }, reason: /shut off/, warn: true },
    { name: 'backup API unavailable', input: { backupApi: false }, reason: /backup API/, warn: true },
    { name: 'raw disk', input: { disks: [{ target: 'vda', format: 'raw', virtualSizeBytes: 1024 }] }, reason: /disk vda \(raw\) is not qcow2/, warn: true },
    { name: 'no previous point', input: { points: [] }, reason: /no previous restore point/, warn: false },
    { name: 'previous point pruned (newer checkpoint than any point)', input: { points: [pt(F), pt(I1, F)] }, reason: /2026-12-03-020000 .* no longer on storage/, warn: true },
    { name: 'previous point failed verification', input: { points: [pt(F), pt(I1, F), pt(I2, I1, { verification: { result: 'failed' } })] }, reason: /point 2026-12-03-020000 failed verification/, warn: true },
    { name: 'an ancestor failed verification', input: { points: [pt(F), pt(I1, F, { verification: { result: 'failed' } }), pt(I2, I1)] }, reason: /chain is not good: ancestor 2026-12-02-020000 failed verification/, warn: true },
    { name: 'previous point corrupt', input: { points: [pt(F), pt(I1, F), pt(I2, I1, { corrupt: ['bad'] })] }, reason: /point 2026-12-03-020000 is corrupt/, warn: true },
    { name: 'an ancestor missing', input: { points: [pt(F), pt(I2, I1)] }, reason: /ancestor 2026-12-02-020000 .* missing/, warn: true },
    { name: 'checkpoint missing', input: { checkpoints: [`vmbackup-${F}`, `vmbackup-${I1}`] }, reason: /no checkpoint vmbackup-2026-12-03-020000/, warn: true },
    { name: 'disk added', input: { disks: [...base.disks, { target: 'vdb', format: 'qcow2', virtualSizeBytes: 1 }] }, reason: /disk vdb was added/, warn: true },
    { name: 'disk removed', input: { disks: [] }, reason: /disk vda was removed/, warn: true },
    { name: 'disk resized', input: { disks: [{ target: 'vda', format: 'qcow2', virtualSizeBytes: 2048 }] }, reason: /disk vda was resized .*1024 → 2048/, warn: true },
    { name: 'storage changed', input: { storageId: 'nfs:2' }, reason: /storage changed/, warn: true },
    { name: 'chain length reached full_every', input: {}, policy: { fullEvery: 3 }, reason: /chain of 2026-12-01-020000 has 3 points \(full_every 3\)/, warn: false },
    { name: 'full older than full_every_days', input: {}, policy: { fullEvery: 7, fullEveryDays: 3 }, reason: /full 2026-12-01-020000 is 3 days old \(full_every_days 3\)/, warn: false },
  ];
  for (const c of fulls) {
    test(`full: ${c.name}`, () => {
      const r = nextBackupKind({ ...base, ...c.input }, c.policy ?? policy);
      assert.equal(r.kind, 'full');
      assert.equal(r.parent, undefined);
      assert.match(r.reason, /^full backup: /);
      assert.match(r.reason, c.reason);
      assert.equal(r.warn, c.warn);
    });
  }
  test('full_every_days not reached → incremental', () => {
    assert.equal(nextBackupKind(base, { fullEvery: 7, fullEveryDays: 4 }).kind, 'incremental');
  });
  test('unknown previous storage identity is not a change', () => {
    const { previousStorageId: _, ...rest } = base;
    assert.equal(nextBackupKind({ ...rest, storageId: 'x' }, policy).kind, 'incremental');
  });
});
