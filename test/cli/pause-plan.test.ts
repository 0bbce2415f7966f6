// `vmbackup plan` shows each VM's window with its next start inside it and the pauses in force (with
// until, who and why), in text, Markdown and JSON (`vmNotes`), on a real git repo and state dir.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { EXAMPLE_FLEET } from '../helpers/paths.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { setPause } from '../../src/adapters/store/pauses.js';
import type { VmNote } from '../../src/core/reconcile/types.js';

const NOW = '2026-12-23T17:00:00Z'; // Wed 12:00 in America/New_York (the example's zone)

describe('vmbackup plan: windows and pauses', () => {
  let repo: TestRepo;
  let state: string;
  before(async () => {
    repo = await makeRepo(EXAMPLE_FLEET);
    state = await mkdtemp(join(tmpdir(), 'vmb-plan-pause-'));
    const store = await StateStore.open(state);
    await setPause(store, { vm: 'prod-db-01', until: '2026-12-25T12:00:00.000Z', reason: 'storage migration', by: 'cli:alice', at: '2026-12-23T00:00:00.000Z' }, NOW);
    await setPause(store, { vm: 'web-server-01', until: '2026-12-23T16:59:00.000Z', reason: 'expired', by: 'cli:bob', at: '2026-12-22T00:00:00.000Z' }, '2026-12-22T00:00:01.000Z');
  });
  after(async () => { await repo.cleanup(); await rm(state, { recursive: true, force: true }); });

  test('text: the window with its next start (the year-end blackout swallows one window and cuts the next: Saturday 00:00, still inside it), the pause in force; not the expired one', async () => {
    const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'HEAD', '--head', 'HEAD', '--now', NOW, '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^No changes\./);
    assert.match(r.stdout, /^Windows and pauses at Wed 2026-12-23 12:00 America\/New_York:$/m);
    assert.match(r.stdout, /^◷ build-runner-01: window fri 20:00 for 60h; blackout 2026-12-24\.\.2027-01-01; next start Sat 2027-01-02 00:00 America\/New_York$/m);
    assert.match(r.stdout, /^‖ prod-db-01: paused until Fri 2026-12-25 07:00 America\/New_York by cli:alice: storage migration$/m);
    assert.doesNotMatch(r.stdout, /web-server-01/);
  });

  test('json keeps the notes (vmNotes); markdown has a table', async () => {
    const j = await vmbackup(['plan', '--repo', repo.work, '--base', 'HEAD', '--head', 'HEAD', '--now', NOW, '--state-dir', state, '--format', 'json']);
    assert.equal(j.code, 0, j.stderr);
    const notes = (JSON.parse(j.stdout) as { vmNotes: Record<string, VmNote> }).vmNotes;
    assert.deepEqual(Object.keys(notes).sort(), ['build-runner-01', 'prod-db-01']);
    assert.deepEqual(notes['build-runner-01']!.window, { open: false, nextStart: '2027-01-02T05:00:00.000Z', text: 'window fri 20:00 for 60h; blackout 2026-12-24..2027-01-01' });
    assert.equal(notes['prod-db-01']!.paused!.reason, 'storage migration');
    const m = await vmbackup(['plan', '--repo', repo.work, '--base', 'HEAD', '--head', 'HEAD', '--now', NOW, '--state-dir', state, '--format', 'markdown']);
    assert.match(m.stdout, /^#### Windows and pauses \(at Wed 2026-12-23 12:00 America\/New_York\)$/m);
    assert.match(m.stdout, /^\| `build-runner-01` \| window fri 20:00 for 60h; blackout 2026-12-24\.\.2027-01-01 \| next start Sat 2027-01-02 00:00 America\/New_York \| — \|$/m);
  });

  test('inside the window: open now; without a state dir no pauses are shown', async () => {
    const sat = '2026-12-05T17:00:00Z'; // a Saturday before the freeze
    const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'HEAD', '--head', 'HEAD', '--now', sat, '--state-dir', join(state, 'nowhere')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^◷ build-runner-01: .*; open now$/m);
    assert.doesNotMatch(r.stdout, /paused/);
  });
});
