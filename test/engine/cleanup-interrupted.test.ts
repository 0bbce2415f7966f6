// `vmbackup cleanup` closes a killed run's record: a backup SIGKILLed mid-copy stays `running` in
// the run history until something notices its process is gone. The next backup did; cleanup (run
// by hand or by the daemon after a crash) must too, and say so. Local transport, a private copy
// of lab-noos, the copy slowed by a rate-limited qemu-img (test/helpers/faults.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { labOrSkip } from '../helpers/lab.js';
import { cloneNoos, faultEnv, findPartials, repairLab, scratchDir, scratchVmPolicy, slowQemuImg, waitFor } from '../helpers/faults.js';

interface State { runs: { id: string; pid: number; vm: string; kind: string; status: string; error?: string; finished?: string }[] }

describe('cleanup closes an interrupted run record', () => {
  test('kill -9 a backup mid-copy, then `vmbackup cleanup`: the run is `interrupted`, not `running`', { timeout: 90_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const noos = await cloneNoos(lab, 'st-kill');
    const VM = noos.name;
    const dir = await scratchDir('st-kill');
    const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(VM)], imageWriter: 'qemu-img' });
    t.after(async () => { await repairLab(env, [noos.ref]); await env.cleanup(); await noos.cleanup(); await rm(dir, { recursive: true, force: true }); });

    const proc = env.spawn(['backup', VM, '--json'], { env: await slowQemuImg(dir, '1M') });
    await waitFor('the copy to be under way', async () => {
      for (const p of await findPartials(env.storage)) {
        const s = await stat(join(p, `${VM}-vda.qcow2`)).catch(() => undefined);
        if (s && s.size > 512 * 1024) return p;
      }
      return undefined;
    }, 30_000, 100);
    proc.kill('SIGKILL');
    assert.equal((await proc).signal, 'SIGKILL');
    const before = JSON.parse(await readFile(join(env.stateDir, 'state.json'), 'utf8')) as State;
    const killed = before.runs.find((r) => r.pid === proc.pid);
    assert.ok(killed, 'the killed run was recorded when it started');
    assert.equal(killed.status, 'running', 'what a SIGKILL leaves: a run recorded as running');

    const c = await env.cli(['cleanup', VM]);
    assert.equal(c.code, 0, `${c.stdout}\n${c.stderr.slice(-3000)}`);
    assert.match(c.stdout, new RegExp(`done: closed run ${killed.id} \\(backup, pid ${proc.pid}\\) as interrupted: its process is gone`));
    const after = JSON.parse(await readFile(join(env.stateDir, 'state.json'), 'utf8')) as State;
    const closed = after.runs.find((r) => r.id === killed.id)!;
    assert.equal(closed.status, 'interrupted', `run ${killed.id} of the SIGKILLed pid ${proc.pid} is still "${closed.status}" after cleanup`);
    assert.ok(closed.finished, 'an interrupted run has an end time');
    assert.match(closed.error ?? '', /died/);

    const again = await env.cli(['cleanup', VM]);
    assert.equal(again.code, 0, again.stderr.slice(-2000));
    assert.match(again.stdout, /nothing to do/, 'a second cleanup has nothing left to close');
  });
});
