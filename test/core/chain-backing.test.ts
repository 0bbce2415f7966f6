import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { backingProblems, expectedBacking } from '../../src/core/chain/backing.js';

const SHA = 'c'.repeat(64);
const P = '2026-12-01-020000';
const img = (path: string, target: string, extra: object = {}) => ({ path, size_bytes: 1, sha256: SHA, target, ...extra });
const parent = { backup_id: P, files: [img('vm-vda.qcow2', 'vda'), img('vm-vdb.qcow2', 'vdb'), { path: 'vm-nvram.fd', size_bytes: 1, sha256: SHA, kind: 'nvram' as const, target: undefined }] };
const point = (backing: Record<string, string | undefined>, extra: object = {}) => ({
  backup_id: '2026-12-02-020000', kind: 'incremental' as const, parent_backup_id: P,
  files: Object.entries(backing).map(([t, b]) => img(`vm-${t}.qcow2`, t, b === undefined ? {} : { backing: b })), ...extra,
});

describe('backingProblems', () => {
  test('expectedBacking names the same disk of the parent', () => {
    assert.equal(expectedBacking(parent, 'vdb'), `../${P}/vm-vdb.qcow2`);
    assert.equal(expectedBacking(parent, 'vdc'), undefined);
  });
  const cases: [string, ReturnType<typeof point> | { backup_id: string; files: ReturnType<typeof img>[] }, typeof parent | undefined, Map<string, string | undefined> | undefined, RegExp | undefined][] = [
    ['each disk on its parent image', point({ vda: `../${P}/vm-vda.qcow2`, vdb: `../${P}/vm-vdb.qcow2` }), parent, undefined, undefined],
    ['and qemu-img agrees', point({ vda: `../${P}/vm-vda.qcow2` }), parent, new Map([['vm-vda.qcow2', `../${P}/vm-vda.qcow2`]]), undefined],
    ['a full without backing', { backup_id: P, files: [img('vm-vda.qcow2', 'vda')] }, undefined, new Map([['vm-vda.qcow2', undefined]]), undefined],
    ['a full whose image has a backing file', { backup_id: P, files: [img('vm-vda.qcow2', 'vda')] }, undefined, new Map([['vm-vda.qcow2', '/etc/x']]), /full point's image has a backing/],
    ['parent not on storage', point({ vda: `../${P}/vm-vda.qcow2` }), undefined, undefined, /parent 2026-12-01-020000 .* not on storage/],
    ['another disk of the parent', point({ vda: `../${P}/vm-vdb.qcow2` }), parent, undefined, /not the parent's image/],
    ['a disk the parent lacks', point({ vdc: `../${P}/vm-vdc.qcow2` }), parent, undefined, /has no image of disk vdc/],
    ['no backing recorded', point({ vda: undefined }), parent, undefined, /backing undefined/],
    ['qemu-img reports another backing file', point({ vda: `../${P}/vm-vda.qcow2` }), parent, new Map([['vm-vda.qcow2', '/var/lib/libvirt/images/base.qcow2']]), /image's backing file .* is not/],
  ];
  for (const [name, pt, par, actual, re] of cases) {
    test(name, () => {
      const problems = backingProblems(pt, par, actual);
      if (re === undefined) assert.deepEqual(problems, []);
      else assert.ok(problems.some((p) => re.test(p)), JSON.stringify(problems));
    });
  }
});
