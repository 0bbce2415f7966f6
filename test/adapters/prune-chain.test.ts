// The last line of defence in pruning knows chains: a point that another stored point builds on
// (an incremental's parent) is never deleted, and "the newest verified-good point" is judged with
// its chain (an incremental whose parent failed verification does not protect it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupStore } from '../../src/adapters/storage/backup-store.js';
import { pruneBackup } from '../../src/adapters/storage/prune.js';

async function point(vmDir: string, id: string, o: { parent?: string; verify?: 'ok' | 'failed' } = {}): Promise<void> {
  const dir = join(vmDir, id);
  await mkdir(dir, { recursive: true });
  const img = Buffer.from(`disk at ${id}\n`);
  const sha = createHash('sha256').update(img).digest('hex');
  await writeFile(join(dir, 'vm1-vda.qcow2'), img);
  await writeFile(join(dir, 'checksums.sha256'), `${sha}  vm1-vda.qcow2\n`);
  const file = { path: 'vm1-vda.qcow2', size_bytes: img.length, sha256: sha, target: 'vda', ...(o.parent ? { backing: `../${o.parent}/vm1-vda.qcow2` } : {}) };
  await writeFile(join(dir, 'backup-metadata.json'), JSON.stringify({ backup_id: id, started: `${id.slice(0, 10)}T00:00:00Z`, finished: `${id.slice(0, 10)}T00:01:00Z`, kind: o.parent ? 'incremental' : 'full', ...(o.parent ? { parent_backup_id: o.parent } : {}), files: [file] }));
  await writeFile(join(dir, 'verification.json'), JSON.stringify({ result: o.verify ?? 'ok', at: `${id.slice(0, 10)}T01:00:00Z`, problems: [] }));
}

test('prune refuses the parent of a stored incremental, then allows it once the incremental is gone', async () => {
  const root = await mkdtemp(join(tmpdir(), 'prune-chain-'));
  try {
    const vmDir = join(root, 'hv1', 'vm1');
    await point(vmDir, '2026-01-01-000000');
    await point(vmDir, '2026-01-02-000000', { parent: '2026-01-01-000000' });
    await point(vmDir, '2026-01-03-000000');
    const store = new BackupStore(root);
    await assert.rejects(pruneBackup(store, 'vm1', '2026-01-01-000000'), /2026-01-02-000000 is an incremental built on it/);
    assert.equal((await readdir(vmDir)).length, 3, 'nothing deleted');
    await pruneBackup(store, 'vm1', '2026-01-02-000000');
    await pruneBackup(store, 'vm1', '2026-01-01-000000');
    assert.deepEqual(await readdir(vmDir), ['2026-01-03-000000']);
  } finally { await rm(root, { recursive: true, force: true }); }
});
