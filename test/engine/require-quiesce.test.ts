// require_quiesce on the lab: with lab-noos's dead agent the backup fails before anything is
// touched and nothing is published (a clear error), without it the backup falls back and records
// `crash`; with lab-agent's real agent the recorded consistency is `filesystem`. Backups go to an
// isolated storage env.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import type { Manifest } from '../../src/core/manifest.js';
import type { RunRecord } from '../../src/core/run-record.js';

async function backup(env: LabEnv, vm: string): Promise<{ code: number; run: RunRecord; stderr: string }> {
  const r = await vmbackup(['backup', vm, '--json', '--repo', env.repo, '--state-dir', env.stateDir], { env: { VMBACKUP_STATE_DIR: env.stateDir } });
  let run: RunRecord;
  try { run = JSON.parse(r.stdout) as RunRecord; } catch { throw new Error(`backup ${vm}: exit ${r.code}\n${r.stdout}\n${r.stderr.slice(-3000)}`); }
  return { code: r.code, run, stderr: r.stderr };
}

const entries = async (dir: string): Promise<string[]> => (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.endsWith('.lock')).sort();
const manifest = async (env: LabEnv, vm: string, id: string): Promise<Manifest> => JSON.parse(await readFile(join(env.storageDir, 'local', vm, id, 'backup-metadata.json'), 'utf8')) as Manifest;

describe('require_quiesce on the lab', () => {
  test('lab-noos (dead agent), method quiesce: require_quiesce fails the backup and publishes nothing; without it, crash-consistent', { timeout: 120_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const strict = await labEnv(lab, { isolate: true, vmOverrides: { 'lab-noos': { method: 'quiesce', require_quiesce: true } } });
    const loose = await labEnv(lab, { isolate: true, vmOverrides: { 'lab-noos': { method: 'quiesce' } } });
    t.after(async () => { await strict.cleanup(); await loose.cleanup(); });

    const failed = await backup(strict, 'lab-noos');
    assert.equal(failed.code, 1, JSON.stringify(failed.run));
    assert.equal(failed.run.status, 'failed');
    assert.match(failed.run.error ?? '', /pre-checks failed: quiesce impossible \(the guest agent did not answer\) and require_quiesce is set: the backup fails instead of falling back to a crash-consistent snapshot/);
    assert.equal(failed.run.consistency, undefined, 'no consistency recorded for a backup that did not happen');
    assert.deepEqual(await entries(join(strict.storageDir, 'local', 'lab-noos')), [], 'nothing published, no .partial');
    assert.ok(!failed.run.steps.some((s) => s.name === 'snapshot'), 'no snapshot was taken');

    const ok = await backup(loose, 'lab-noos');
    assert.equal(ok.code, 0, `${JSON.stringify(ok.run)}\n${ok.stderr.slice(-2000)}`);
    assert.equal(ok.run.consistency, 'crash');
    assert.ok(ok.run.warnings.some((w) => /crash-consistent/.test(w)), JSON.stringify(ok.run.warnings));
    const m = await manifest(loose, 'lab-noos', ok.run.backupId!);
    assert.equal(m.method, 'quiesce');
    assert.equal(m.consistency, 'crash');
  });

  test('lab-agent (real agent), require_quiesce: filesystem-consistent in the manifest and the run', { timeout: 120_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    if (!lab.roles.agent) throw new Error('the lab has no agent VM');
    const env = await labEnv(lab, { isolate: true, vmOverrides: { [lab.roles.agent]: { method: 'quiesce', require_quiesce: true } } });
    t.after(() => env.cleanup());
    // engineer `tr` may be restarting lab-agent: wait for its agent to answer (bounded).
    let r = await backup(env, lab.roles.agent);
    for (let i = 0; i < 6 && r.code !== 0 && /guest agent did not answer/.test(r.run.error ?? ''); i++) {
      await new Promise((res) => setTimeout(res, 10_000));
      r = await backup(env, lab.roles.agent);
    }
    assert.equal(r.code, 0, `${JSON.stringify(r.run)}\n${r.stderr.slice(-2000)}`);
    assert.equal(r.run.consistency, 'filesystem');
    const m = await manifest(env, lab.roles.agent, r.run.backupId!);
    assert.equal(m.consistency, 'filesystem');
    assert.ok(m.durations_ms.freeze_ms! > 0);
  });
});
