// Per-run log files: the logger's tap appends each line that carries `run` (after the vault's scrub)
// to <state-dir>/logs/<run>.jsonl, never through a symlink, capped; readRunLog reads one back with an
// allow-list of fields; pruneRunLogs drops the files of runs the state store no longer knows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/adapters/logger.js';
import { SecretVault } from '../../src/adapters/secrets/vault.js';
import { MAX_RUN_LOG_BYTES, pruneRunLogs, readRunLog, runLogPath, runLogTap } from '../../src/adapters/store/run-logs.js';
import { isSafeRunId } from '../../src/core/run-log.js';
import { MAX_RUNS, StateStore, type RunRecord } from '../../src/adapters/store/state-store.js';

const RUN = 'backup-web1-20261203134455123-4242';
const OTHER = 'verify-db1-20261203134455999-4242';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return { stream: new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }), text: () => chunks.join('') };
}
async function tmpState(): Promise<string> { return mkdtemp(join(tmpdir(), 'vmb-runlogs-')); }
const lines = async (p: string): Promise<Record<string, unknown>[]> => (await readFile(p, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('run log tap', () => {
  it("puts a run's lines in its own file, lines without run nowhere", async () => {
    const state = await tmpState();
    try {
      const out = sink();
      const log = createLogger({ destination: out.stream, vault: new SecretVault(), tap: runLogTap(state) });
      const a = log.child({ run: RUN, vm: 'web1' });
      const b = log.child({ run: OTHER, vm: 'db1' });
      log.info('daemon started');
      a.info({ step: 'snapshot', ms: 12 }, 'step done');
      b.warn({ backup: '20261203T000000Z' }, 'verify point');
      a.error({ step: 'copy', err: 'disk full' }, 'step failed');
      const la = await lines(runLogPath(state, RUN));
      assert.deepEqual(la.map((l) => l.msg), ['step done', 'step failed']);
      assert.ok(la.every((l) => l.run === RUN));
      assert.deepEqual((await lines(runLogPath(state, OTHER))).map((l) => l.msg), ['verify point']);
      assert.deepEqual((await readdir(join(state, 'logs'))).sort(), [`${OTHER}.jsonl`, `${RUN}.jsonl`].sort());
      assert.equal(out.text().trim().split('\n').length, 4, 'stderr still gets every line');
      assert.equal((await stat(join(state, 'logs'))).mode & 0o777, 0o750);
      assert.equal((await stat(runLogPath(state, RUN))).mode & 0o777, 0o640);
    } finally { await rm(state, { recursive: true, force: true }); }
  });

  it('never writes a secret the vault holds', async () => {
    const state = await tmpState();
    try {
      const vault = new SecretVault();
      const secret = 'Zk9-very-secret-pw';
      vault.resolve({ env: 'PW' }, { PW: secret });
      const log = createLogger({ destination: sink().stream, vault, tap: runLogTap(state) });
      log.child({ run: RUN }).error({ err: `ssh said ${secret}`, detail: { nested: secret } }, `failed with ${secret}`);
      const text = await readFile(runLogPath(state, RUN), 'utf8');
      assert.ok(!text.includes(secret), text);
      assert.match(text, /\[redacted\]/);
    } finally { await rm(state, { recursive: true, force: true }); }
  });

  it('does not follow a planted symlink; the logging goes on', async () => {
    const state = await tmpState();
    try {
      await mkdir(join(state, 'logs'), { recursive: true });
      const victim = join(state, 'victim');
      await writeFile(victim, 'untouched\n');
      await symlink(victim, runLogPath(state, RUN));
      const out = sink();
      const log = createLogger({ destination: out.stream, vault: new SecretVault(), tap: runLogTap(state) });
      const a = log.child({ run: RUN });
      a.info('one'); a.info('two');
      assert.equal(await readFile(victim, 'utf8'), 'untouched\n');
      assert.ok((await lstat(runLogPath(state, RUN))).isSymbolicLink());
      const said = out.text();
      assert.match(said, /"msg":"one"/); assert.match(said, /"msg":"two"/);
      assert.equal(said.match(/run log not written/g)?.length, 1, 'one warning per run, without the run field');
      await assert.rejects(readRunLog(state, RUN), /symbolic link/);
    } finally { await rm(state, { recursive: true, force: true }); }
  });

  it('a logs directory that is a symlink is not written through', async () => {
    const state = await tmpState();
    const elsewhere = await tmpState();
    try {
      await symlink(elsewhere, join(state, 'logs'));
      const log = createLogger({ destination: sink().stream, vault: new SecretVault(), tap: runLogTap(state) });
      log.child({ run: RUN }).info('x');
      assert.deepEqual(await readdir(elsewhere), []);
    } finally { await rm(state, { recursive: true, force: true }); await rm(elsewhere, { recursive: true, force: true }); }
  });

  it('caps a run at 256 KiB with one final line saying so', async () => {
    const state = await tmpState();
    try {
      const log = createLogger({ destination: sink().stream, vault: new SecretVault(), tap: runLogTap(state) });
      const a = log.child({ run: RUN });
      const pad = 'x'.repeat(1000);
      for (let i = 0; i < 400; i++) a.info({ i, pad }, 'line');
      const size = (await stat(runLogPath(state, RUN))).size;
      assert.ok(size <= MAX_RUN_LOG_BYTES + 512, String(size));
      const ls = await lines(runLogPath(state, RUN));
      assert.match(String(ls.at(-1)!.msg), /run log cut at 262144 bytes/);
      assert.equal(ls.filter((l) => /cut/.test(String(l.msg))).length, 1);
      assert.ok(ls.length > 200 && ls.length < 400);
    } finally { await rm(state, { recursive: true, force: true }); }
  });

  it('refuses a hostile run id as a file name', async () => {
    const state = await tmpState();
    try {
      for (const bad of ['../escape', '.hidden', 'a/b', '', 'x'.repeat(300), 'a\nb', '..']) assert.equal(isSafeRunId(bad), false, bad);
      assert.equal(isSafeRunId(RUN), true);
      const out = sink();
      const log = createLogger({ destination: out.stream, vault: new SecretVault(), tap: runLogTap(join(state, 'sd')) });
      log.child({ run: '../../escape' }).info('x');
      log.child({ run: '.hidden' }).info('x');
      log.child({ run: 42 }).info('x');
      await assert.rejects(stat(join(state, 'escape.jsonl')));
      assert.deepEqual(await readdir(join(state, 'sd', 'logs')).catch(() => []), []);
      assert.equal(await readRunLog(state, '../escape'), undefined);
      assert.equal(out.text().trim().split('\n').length >= 3, true);
    } finally { await rm(state, { recursive: true, force: true }); }
  });
});

describe('readRunLog', () => {
  it('parses leniently and keeps only allowed fields', async () => {
    const state = await tmpState();
    try {
      await mkdir(join(state, 'logs'));
      await writeFile(runLogPath(state, RUN), [
        JSON.stringify({ level: 30, time: '2026-12-03T13:00:00.000Z', pid: 1, name: 'vmbackup', run: RUN, vm: 'web1', step: 'snapshot', ms: 12, msg: 'step done' }),
        'not json at all',
        JSON.stringify({ level: 50, time: '2026-12-03T13:00:01.000Z', run: RUN, step: 'copy', err: 'disk full', env: { A: 1 }, cmd: 'ssh', msg: 'step failed' }),
        '[1,2]',
        JSON.stringify({ level: 40, time: 1764766802000, run: RUN, disk: 'vda', bytes: 42, msg: 'hmm' }),
        '',
      ].join('\n'));
      const got = await readRunLog(state, RUN);
      assert.deepEqual(got, [
        { at: '2026-12-03T13:00:00.000Z', level: 'info', msg: 'step done', fields: { step: 'snapshot', ms: 12 } },
        { at: '2026-12-03T13:00:01.000Z', level: 'error', msg: 'step failed', fields: { step: 'copy', err: 'disk full' } },
        { at: new Date(1764766802000).toISOString(), level: 'warn', msg: 'hmm', fields: { disk: 'vda', bytes: 42 } },
      ]);
      assert.deepEqual((await readRunLog(state, RUN, { maxLines: 1 }))!.map((l) => l.msg), ['hmm']);
      assert.equal(await readRunLog(state, OTHER), undefined);
    } finally { await rm(state, { recursive: true, force: true }); }
  });
});

describe('pruneRunLogs', () => {
  it('removes only the files of runs not kept (and old enough)', async () => {
    const state = await tmpState();
    try {
      await mkdir(join(state, 'logs'));
      const old = new Date(Date.now() - 86_400_000);
      for (const id of [RUN, OTHER, 'backup-gone-1-1', 'backup-fresh-2-2']) await writeFile(runLogPath(state, id), '{}\n');
      await writeFile(join(state, 'logs', 'README'), 'not a run log');
      for (const id of [RUN, OTHER, 'backup-gone-1-1']) await utimes(runLogPath(state, id), old, old);
      const removed = await pruneRunLogs(state, new Set([RUN, OTHER]));
      assert.equal(removed, 1);
      assert.deepEqual((await readdir(join(state, 'logs'))).sort(), ['README', `${OTHER}.jsonl`, `${RUN}.jsonl`, 'backup-fresh-2-2.jsonl'].sort());
      assert.equal(await pruneRunLogs(join(state, 'nope'), new Set()), 0);
    } finally { await rm(state, { recursive: true, force: true }); }
  });
});

describe('the state store trims the history', () => {
  it('and the logs of the runs it dropped go with them', async () => {
    const state = await tmpState();
    try {
      const run = (id: string) => ({ id, kind: 'backup', vm: 'web1', hypervisor: 'hv', started: '2026-12-01T00:00:00.000Z', finished: '2026-12-01T00:00:01.000Z', status: 'ok', warnings: [], pid: 1, steps: [] });
      const ids = Array.from({ length: MAX_RUNS }, (_, i) => `backup-web1-${String(i).padStart(6, '0')}-1`);
      await writeFile(join(state, 'state.json'), JSON.stringify({ version: 1, runs: ids.map(run) }), { mode: 0o600 });
      await mkdir(join(state, 'logs'));
      const old = new Date(Date.now() - 86_400_000);
      for (const id of [ids[0]!, ids[1]!, 'backup-stray-1-1']) { await writeFile(runLogPath(state, id), '{}\n'); await utimes(runLogPath(state, id), old, old); }
      const store = await StateStore.open(state);
      await store.saveRun(run('backup-web1-new-1') as RunRecord);
      assert.deepEqual((await readdir(join(state, 'logs'))).sort(), [`${ids[1]}.jsonl`]);
    } finally { await rm(state, { recursive: true, force: true }); }
  });
});
