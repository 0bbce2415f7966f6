// The test-restore console screenshot through the console service (src/daemon/console-service.ts)
// over a real state store and a real backup-storage directory: only the PNG recorded in the VM's
// last test-restore run is read, only under the VM's directory on storage, never through a symlink,
// never a non-PNG or an oversized file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { AuditLog } from '../../src/adapters/store/audit-log.js';
import { DaemonConsoleService } from '../../src/daemon/console-service.js';
import type { AdhocQueue } from '../../src/daemon/adhoc-queue.js';
import type { InForce } from '../../src/daemon/adhoc-run.js';
import type { RunRecord } from '../../src/core/run-record.js';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('IHDR-and-the-rest')]);
let root = '';
let storage = '';
let store: StateStore;
let service: DaemonConsoleService;
let n = 0;

const vmDir = (vm: string) => join(storage, 'hv1', vm);

/** Records a test-restore run of `vm` whose screenshot step names `path` (the newest run). */
async function recorded(vm: string, path: string, ok = true): Promise<void> {
  n++;
  const run: RunRecord = {
    id: `test-restore-${n}`, kind: 'test-restore', vm, hypervisor: 'hv1', backupId: '2026-12-01-020000', started: new Date(Date.UTC(2026, 11, 1, 0, n)).toISOString(),
    finished: new Date(Date.UTC(2026, 11, 1, 0, n, 30)).toISOString(), status: 'ok', warnings: [], pid: process.pid,
    steps: [{ name: 'probe', ok: true, ms: 1, detail: 'agent' }, { name: 'screenshot', ok, ms: 1, detail: ok ? path : 'no screenshot: x' }],
  };
  await store.saveRun(run);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vmb-r1shot-'));
  storage = join(root, 'storage');
  store = await StateStore.open(join(root, 'state'));
  const inForce = async (): Promise<InForce> => ({
    revision: 'r1', hosts: {} as InForce['hosts'],
    desired: { settings: { storageRoot: storage }, hypervisors: [{ name: 'hv1' }], vms: [{ name: 'web1', hypervisor: 'hv1' }, { name: 'db1', hypervisor: 'hv1' }] } as unknown as InForce['desired'],
  });
  service = new DaemonConsoleService({
    store, stateDir: join(root, 'state'), audit: new AuditLog(join(root, 'state'), (s) => s), queue: {} as AdhocQueue, now: () => new Date(), scrub: (s) => s,
    log: pino({ level: 'silent' }), last: () => undefined, inForce,
  });
});
after(async () => { await rm(root, { recursive: true, force: true }); });

test('the PNG recorded by the last test-restore, under the VM\'s directory, is served', async () => {
  const dir = join(vmDir('web1'), '2026-12-01-020000');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'test-restore.png'), PNG);
  assert.equal(await service.testRestoreScreenshot('web1'), undefined, 'no test-restore run yet');
  await recorded('web1', join(dir, 'test-restore.png'));
  assert.deepEqual(await service.testRestoreScreenshot('web1'), PNG);
  assert.equal(await service.testRestoreScreenshot('nope'), undefined, 'a VM not in the policy');
});

test('the last test-restore without a screenshot: none (no older one is dug out)', async () => {
  await recorded('web1', '', false);
  assert.equal(await service.testRestoreScreenshot('web1'), undefined);
  await recorded('web1', join(vmDir('web1'), '2026-12-01-020000', 'test-restore.png'));
  assert.ok(await service.testRestoreScreenshot('web1'));
});

test('a symlink planted in place of the PNG, or of a directory on the way, is refused', async () => {
  const dir = join(vmDir('db1'), '2026-12-01-020000');
  await mkdir(dir, { recursive: true });
  const secret = join(root, 'secret.png');
  await writeFile(secret, PNG);
  await symlink(secret, join(dir, 'test-restore.png'));
  await recorded('db1', join(dir, 'test-restore.png'));
  assert.equal(await service.testRestoreScreenshot('db1'), undefined, 'the file is a symlink');
  const realDir = join(root, 'elsewhere');
  await mkdir(realDir, { recursive: true });
  await writeFile(join(realDir, 'test-restore.png'), PNG);
  await symlink(realDir, join(vmDir('db1'), 'linked'));
  await recorded('db1', join(vmDir('db1'), 'linked', 'test-restore.png'));
  assert.equal(await service.testRestoreScreenshot('db1'), undefined, 'a directory on the way is a symlink');
});

test('a recorded path outside the VM\'s directory (another VM, .., elsewhere) is refused', async () => {
  const other = join(vmDir('web1'), '2026-12-01-020000', 'test-restore.png'); // web1's, a real PNG
  for (const p of [other, join(vmDir('db1'), '..', 'web1', '2026-12-01-020000', 'test-restore.png'), join(root, 'secret.png'), 'test-restore.png', `${vmDir('db1')}-x/test-restore.png`]) {
    await recorded('db1', p);
    assert.equal(await service.testRestoreScreenshot('db1'), undefined, p);
  }
});

test('not a PNG (wrong signature), a directory, a file over the cap, or another name: refused', async () => {
  const dir = join(vmDir('db1'), '2026-12-02-020000');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'test-restore.png'), 'GIF89a not a png');
  await recorded('db1', join(dir, 'test-restore.png'));
  assert.equal(await service.testRestoreScreenshot('db1'), undefined, 'wrong signature');
  await writeFile(join(dir, 'big.png'), Buffer.concat([PNG, Buffer.alloc(8 * 1024 * 1024)]));
  await recorded('db1', join(dir, 'big.png'));
  assert.equal(await service.testRestoreScreenshot('db1'), undefined, 'over 8 MiB');
  await recorded('db1', dir);
  assert.equal(await service.testRestoreScreenshot('db1'), undefined, 'a directory');
  await writeFile(join(dir, 'evidence.txt'), PNG);
  await recorded('db1', join(dir, 'evidence.txt'));
  assert.equal(await service.testRestoreScreenshot('db1'), undefined, 'not a .png name');
});
