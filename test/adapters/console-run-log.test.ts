// The console serves a run with the log lines its process kept (<state-dir>/logs/<run>.jsonl,
// written by the logger's tap): GET /runs/:id and the VM page's newest runs. A log file that is
// a symlink is never read; the run is still served, without lines.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createLogger } from '../../src/adapters/logger.js';
import { runLogPath, runLogTap } from '../../src/adapters/store/run-logs.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { AuditLog } from '../../src/adapters/store/audit-log.js';
import { DaemonConsoleService } from '../../src/daemon/console-service.js';
import type { AdhocQueue } from '../../src/daemon/adhoc-queue.js';
import type { InForce } from '../../src/daemon/adhoc-run.js';
import type { RunRecord } from '../../src/core/run-record.js';
import type { VmStatus } from '../../src/core/status-model.js';

let root = '';
let stateDir = '';
let store: StateStore;
let service: DaemonConsoleService;
const warnings: string[] = [];

const run = (id: string, started: string): RunRecord => ({ id, kind: 'backup', vm: 'web1', hypervisor: 'hv1', started, finished: started, status: 'ok', warnings: [], pid: process.pid, steps: [{ name: 'copy', ok: true, ms: 5 }] });
const status = { vm: 'web1', hypervisor: 'hv1', observed: 'running', conditions: [], restore_points: [], history: [] } as unknown as VmStatus;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vmb-runlog-console-'));
  stateDir = join(root, 'state');
  store = await StateStore.open(stateDir);
  const inForce = async (): Promise<InForce> => ({ revision: 'r1', hosts: {} as InForce['hosts'], desired: { settings: { storageRoot: join(root, 'storage') }, hypervisors: [{ name: 'hv1' }], vms: [{ name: 'web1', hypervisor: 'hv1' }] } as unknown as InForce['desired'] });
  const sink = new Writable({ write(c, _e, cb) { warnings.push(String(c)); cb(); } });
  service = new DaemonConsoleService({
    store, stateDir, audit: new AuditLog(stateDir, (s) => s), queue: { list: () => [] } as unknown as AdhocQueue, now: () => new Date('2026-12-03T12:00:00Z'), scrub: (s) => s,
    log: pino({ level: 'warn' }, sink), last: () => ({ summary: {} as never, statuses: [status] }), inForce,
  });
  // The engine's way: a child logger carrying the run id, through the tap every engine process installs.
  const log = createLogger({ destination: new Writable({ write(_c, _e, cb) { cb(); } }), tap: runLogTap(stateDir) });
  for (const [id, started] of [['backup-web1-1', '2026-12-03T10:00:00Z'], ['backup-web1-2', '2026-12-03T11:00:00Z']] as const) {
    await store.saveRun(run(id, started));
    const l = log.child({ run: id, vm: 'web1' });
    l.info({ step: 'copy', ms: 5, env: { SECRET: 'x' } }, 'step done');
    l.warn({ err: 'guest agent did not answer' }, 'crash-consistent snapshot');
  }
  log.info('a daemon line with no run');
});
after(async () => { await rm(root, { recursive: true, force: true }); });

test('GET /runs/:id: the run with its own lines, allowed fields only', async () => {
  const r = await service.run('backup-web1-1');
  assert.ok(r);
  assert.deepEqual(r.log?.map((l) => [l.level, l.msg, l.fields]), [['info', 'step done', { step: 'copy', ms: 5 }], ['warn', 'crash-consistent snapshot', { err: 'guest agent did not answer' }]]);
  assert.equal(await service.run('no-such-run'), undefined);
});

test('the VM view carries the log of its newest runs', async () => {
  const v = await service.vm('web1');
  assert.deepEqual(v?.runs.map((x) => [x.id, x.log?.length]), [['backup-web1-2', 2], ['backup-web1-1', 2]]);
});

test('a log file replaced by a symlink is not read: the run is served without lines and a warning is logged', async () => {
  const p = runLogPath(stateDir, 'backup-web1-2');
  const secret = join(root, 'elsewhere.jsonl');
  await writeFile(secret, `${JSON.stringify({ time: '2026-12-03T11:00:00Z', level: 30, msg: 'not this run\'s', run: 'backup-web1-2' })}\n`);
  await unlink(p);
  await symlink(secret, p);
  const r = await service.run('backup-web1-2');
  assert.ok(r);
  assert.equal(r.log, undefined);
  assert.match(warnings.join(''), /run log not served/);
});
