import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { manifestProblems } from '../../src/core/manifest.js';

const SHA = 'b'.repeat(64);
const P = '2026-12-01-020000';
function manifest(top: Record<string, unknown>, file: Record<string, unknown> = {}): unknown {
  return { backup_id: '2026-12-02-020000', files: [{ path: 'vm-vda.qcow2', size_bytes: 10, sha256: SHA, target: 'vda', ...file }], ...top };
}

describe('manifestProblems: incremental fields of an untrusted manifest', () => {
  const cases: { name: string; m: unknown; problem?: RegExp }[] = [
    { name: 'an old manifest without kind', m: manifest({}) },
    { name: 'a full', m: manifest({ kind: 'full', checkpoint: 'vmbackup-2026-12-02-020000' }) },
    { name: 'an incremental on its parent', m: manifest({ kind: 'incremental', parent_backup_id: P }, { backing: `../${P}/vm-vda.qcow2`, changed_bytes: 65536 }) },
    { name: 'an unknown kind', m: manifest({ kind: 'differential' }), problem: /kind "differential"/ },
    { name: 'parent not a backup id', m: manifest({ kind: 'incremental', parent_backup_id: '../etc' }), problem: /parent_backup_id "\.\.\/etc" is not a backup id/ },
    { name: 'parent not a string', m: manifest({ kind: 'incremental', parent_backup_id: 7 }), problem: /parent_backup_id 7 is not a backup id/ },
    { name: 'incremental without parent', m: manifest({ kind: 'incremental' }), problem: /no parent_backup_id/ },
    { name: 'a full naming a parent', m: manifest({ parent_backup_id: P }), problem: /full manifest names a parent/ },
    { name: 'its own parent', m: manifest({ kind: 'incremental', parent_backup_id: '2026-12-02-020000' }), problem: /itself as its parent/ },
    { name: 'backing on a full', m: manifest({}, { backing: `../${P}/vm-vda.qcow2` }), problem: /full point's image has a backing/ },
    { name: 'backing without parent', m: manifest({ kind: 'incremental' }, { backing: `../${P}/vm-vda.qcow2` }), problem: /backing reference without a valid parent/ },
    { name: 'backing to another point than the parent', m: manifest({ kind: 'incremental', parent_backup_id: P }, { backing: '../2026-11-30-020000/vm-vda.qcow2' }), problem: /is not the parent's image/ },
    { name: 'absolute backing', m: manifest({ kind: 'incremental', parent_backup_id: P }, { backing: '/etc/shadow' }), problem: /is not the parent's image/ },
    { name: 'backing climbing out', m: manifest({ kind: 'incremental', parent_backup_id: P }, { backing: `../${P}/../../x/vm-vda.qcow2` }), problem: /is not the parent's image/ },
    { name: 'backing to the parent directory itself', m: manifest({ kind: 'incremental', parent_backup_id: P }, { backing: `../${P}/` }), problem: /is not the parent's image/ },
    { name: 'backing in the same directory', m: manifest({ kind: 'incremental', parent_backup_id: P }, { backing: 'vm-vda.qcow2' }), problem: /is not the parent's image/ },
    { name: 'backing not a string', m: manifest({ kind: 'incremental', parent_backup_id: P }, { backing: 1 }), problem: /is not the parent's image/ },
    { name: 'changed_bytes negative', m: manifest({ kind: 'incremental', parent_backup_id: P }, { changed_bytes: -1 }), problem: /changed_bytes -1 is not a byte count/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const problems = manifestProblems(c.m);
      if (c.problem === undefined) assert.deepEqual(problems, []);
      else assert.ok(problems.some((p) => c.problem!.test(p)), JSON.stringify(problems));
    });
  }
});
