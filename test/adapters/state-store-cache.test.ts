// The state store parses state.json again only when the file changed: another process's write
// is seen, an unchanged file is not parsed twice, and what this process wrote is read back
// scrubbed (the objects it mutated are never served as they were).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../src/adapters/store/state-store.js';
import type { RunRecord } from '../../src/core/run-record.js';

const run = (id: string, error?: string): RunRecord => ({ id, kind: 'backup', vm: 'app-01', hypervisor: 'hv1', started: '2026-12-03T10:00:00Z', status: 'failed', warnings: [], pid: 1, steps: [], ...(error ? { error } : {}) });

describe('state store re-reads only a changed file', () => {
  let dir = '';
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'vmb-state-cache-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('another process\'s write is seen; an unchanged file is not parsed again', async () => {
    const a = await StateStore.open(dir);
    const b = await StateStore.open(dir);
    await b.saveRun(run('r1'));
    assert.deepEqual((await a.runs()).map((r) => r.id), ['r1']);
    const first = await a.fresh();
    assert.equal(await a.fresh(), first, 'same parsed object while the file is unchanged');
    await b.saveRun(run('r2'));
    assert.deepEqual((await a.runs()).map((r) => r.id), ['r1', 'r2']);
  });

  test('after its own write the store serves the scrubbed file, not its objects', async () => {
    const s = await StateStore.open(join(dir, 'scrub'), { scrub: (t) => t.replaceAll('hunter2', '[redacted]') });
    await s.saveRun(run('r3', 'ssh said: password hunter2 refused'));
    assert.equal((await s.runs())[0]!.error, 'ssh said: password [redacted] refused');
    await s.update((d) => { d.note = 'hunter2'; });
    assert.equal((await s.fresh()).note, '[redacted]');
  });
});
