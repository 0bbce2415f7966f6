// `vmbackup prune` against real backups of lab-noos in an isolated storage env: --dry-run lists
// without deleting, a real prune deletes exactly those points, the mass-prune guard refuses, and a
// corrupt newest point (a real bit flip found by `verify`) never makes the last verified-good one
// deletable.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { vmbackup } from '../helpers/cli.js';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import type { VmPruneResult } from '../../src/engine/prune.js';

const VM = 'lab-noos';
const ID = /^\d{4}-\d{2}-\d{2}-\d{6}$/;

/** Rewrites lab.yaml: lab-noos's retention, and extra settings. */
async function setPolicy(env: LabEnv, retention: Record<string, unknown>, settings: Record<string, unknown> = {}): Promise<void> {
  const file = join(env.repo, 'lab.yaml');
  const doc = parse(await readFile(file, 'utf8')) as { settings: Record<string, unknown>; vms: { name: string; retention?: unknown }[] };
  doc.vms.find((v) => v.name === VM)!.retention = retention;
  Object.assign(doc.settings, settings);
  await writeFile(file, stringify(doc));
}

describe('vmbackup prune on the lab (lab-noos, isolated storage)', () => {
  test('dry-run, prune, mass-prune guard, and a corrupt newest point holding pruning', { timeout: 150_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const env = await labEnv(lab, { isolate: true, vmOverrides: { [VM]: { retention: { keep_last: 3 } } } });
    t.after(() => env.cleanup());
    const cli = (...a: string[]) => vmbackup([...a, '--repo', env.repo, '--state-dir', env.stateDir], { env: { VMBACKUP_STATE_DIR: env.stateDir } });
    const dir = join(env.storageDir, 'local', VM);
    const points = async (): Promise<string[]> => (await readdir(dir)).filter((n) => ID.test(n)).sort();
    // lab-noos is shared: another engineer's backup of it may hold it on an overlay for a moment.
    const backup = async (): Promise<void> => {
      for (let i = 0; ; i++) {
        const b = await cli('backup', VM);
        if (b.code === 0) return;
        if (i >= 3 || !/overlay|foreign snapshot|busy/.test(b.stdout + b.stderr)) assert.fail(`backup ${VM}: exit ${b.code}\n${b.stdout}\n${b.stderr.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 3000));
      }
    };
    const pruneJson = (stdout: string): VmPruneResult => (JSON.parse(stdout) as { vms: VmPruneResult[] }).vms.find((v) => v.vm === VM)!;

    // Four real restore points (ids are per second: space them).
    for (let i = 0; i < 4; i++) {
      if (i) await new Promise((r) => setTimeout(r, 1100));
      await backup();
    }
    const ids = await points();
    assert.equal(ids.length, 4);

    // --dry-run: keep_last 3 prunes the oldest; nothing is deleted.
    const dry = await cli('prune', VM, '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(pruneJson(dry.stdout).prune.map((p) => p.id), [ids[0]]);
    assert.deepEqual(await points(), ids);

    // The real prune deletes exactly what the dry-run listed.
    const real = await cli('prune', VM, '--json');
    assert.equal(real.code, 0, real.stderr);
    assert.deepEqual(pruneJson(real.stdout).pruned, [ids[0]]);
    assert.deepEqual(await points(), ids.slice(1));

    // keep_last 1 would delete 2 of 3 (> 25%): the guard refuses, exit 2, nothing deleted.
    await setPolicy(env, { keep_last: 1 });
    const refused = await cli('prune', VM, '--json');
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(pruneJson(refused.stdout).refused ?? '', /allow_mass_prune/);
    assert.deepEqual(await points(), ids.slice(1));

    // A real bit flip in the newest point, found by verify: the newest is no longer good, so
    // nothing is pruned, even with the guard off; the last verified-good point stays.
    const newest = ids[3]!;
    const img = join(dir, newest, `${VM}-vda.qcow2`);
    const fh = await open(img, 'r+');
    try {
      const at = Math.floor((await stat(img)).size / 2);
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, at);
      b[0] = b[0]! ^ 0x01;
      await fh.write(b, 0, 1, at);
    } finally { await fh.close(); }
    const v = await cli('verify', VM, '--backup', newest);
    assert.equal(v.code, 1, `verify must find the flipped bit: ${v.stdout}`);
    await setPolicy(env, { keep_last: 1 }, { allow_mass_prune: true });
    const held = await cli('prune', VM, '--json');
    assert.equal(held.code, 0, held.stderr);
    assert.deepEqual(pruneJson(held.stdout).prune, [], 'newest backup not good: pruning held');
    assert.deepEqual(await points(), ids.slice(1), 'the last verified-good point and the rest are all kept');

    // A new good backup lifts the hold: then retention keeps only it and the guard-free pass deletes the rest.
    await new Promise((r) => setTimeout(r, 1100));
    await backup();
    const latest = (await points()).at(-1)!;
    const after = await cli('prune', VM, '--json');
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(pruneJson(after.stdout).pruned, ids.slice(1));
    assert.deepEqual(await points(), [latest]);
  });
});
