// The signature gate over history, against real git and real ssh signing keys: every commit that
// changes policy since the applied revision must be signed; rewrites are refused unless accepted.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { makeSigningKeys, signArgs, signFlag, type SigningKeys } from '../helpers/signing.js';
import { verifyHistory } from '../../src/adapters/git/trust-history.js';

describe('verifyHistory (real git, real ssh signatures)', () => {
  let r: TestRepo;
  let k: SigningKeys;
  const commit = async (file: string, msg: string, key?: string): Promise<string> => {
    await mkdir(join(r.work, file, '..'), { recursive: true });
    await writeFile(join(r.work, file), `${msg}\n`);
    await r.git('add', '-A');
    await r.git(...signArgs(key), 'commit', ...signFlag(key), '-qm', msg);
    return (await r.git('rev-parse', 'HEAD')).trim();
  };
  const opts = () => ({ allowedSignersFile: k.allowedSigners, require: 'all' as const });
  const tip = () => ({ allowedSignersFile: k.allowedSigners });
  before(async () => {
    const src = await mkdtemp(join(tmpdir(), 'vmbackup-trust-'));
    await writeFile(join(src, 'vms.yaml'), 'vms: []\n');
    r = await makeRepo(src);
    await rm(src, { recursive: true, force: true });
    k = await makeSigningKeys(r.root);
  });
  after(async () => r.cleanup());

  test('first apply: the candidate itself must be signed by an allowed key', async () => {
    const unsigned = (await r.git('rev-parse', 'HEAD')).trim();
    const v0 = await verifyHistory(r.work, undefined, unsigned, opts());
    assert.equal(v0.trusted, false);
    const signed = await commit('vms.yaml', 'signed one', k.ops);
    const v1 = await verifyHistory(r.work, undefined, signed, opts());
    assert.equal(v1.trusted, true, JSON.stringify(v1));
  });

  test('an unsigned commit between signed ones is refused, naming it', async () => {
    const base = (await r.git('rev-parse', 'HEAD')).trim();
    const sneaky = await commit('vms.yaml', 'unsigned middle');
    const top = await commit('policies.yaml', 'signed top', k.ops);
    const v = await verifyHistory(r.work, base, top, opts());
    assert.equal(v.trusted, false);
    assert.ok(!v.trusted && v.code === 'UNSIGNED_COMMIT' && v.commit === sneaky, JSON.stringify(v));
    // The default (`tip`): the signed top attests the tree, so a signed fix on top of an unsigned push is applied.
    assert.equal((await verifyHistory(r.work, base, top, tip())).trusted, true);
    assert.equal((await verifyHistory(r.work, base, sneaky, tip())).trusted, false);
  });

  test('a commit signed by a key that is not allowed is refused', async () => {
    const base = (await r.git('rev-parse', 'HEAD')).trim();
    const c = await commit('vms.yaml', 'other key', k.other);
    const v = await verifyHistory(r.work, base, c, opts());
    assert.ok(!v.trusted && v.code === 'UNSIGNED_COMMIT', JSON.stringify(v));
    assert.match(v.trusted ? '' : v.reason, /not an allowed signer/);
  });

  test('unsigned status-only commits (the daemon bot) need no signature', async () => {
    const base = await commit('vms.yaml', 'signed base', k.ops);
    await commit('status/summary.yaml', 'status: 1 ok');
    const top = await commit('vms.yaml', 'signed after status', k.ops);
    const v = await verifyHistory(r.work, base, top, opts());
    assert.equal(v.trusted, true, JSON.stringify(v));
  });

  test('an unsigned merge of signed branches is refused; a signed merge is trusted', async () => {
    const base = await commit('vms.yaml', 'signed before merge', k.ops);
    await r.git('checkout', '-q', '-b', 'feature');
    await commit('feature.yaml', 'signed feature', k.ops);
    await r.git('checkout', '-q', 'main');
    await commit('main.yaml', 'signed main', k.ops);
    await r.git('merge', '--no-ff', '-q', '-m', 'unsigned merge', 'feature');
    const merge = (await r.git('rev-parse', 'HEAD')).trim();
    for (const o of [opts(), tip()]) {
      const v = await verifyHistory(r.work, base, merge, o);
      assert.ok(!v.trusted && v.code === 'UNSIGNED_COMMIT' && v.commit === merge, JSON.stringify(v));
    }
    await r.git('reset', '-q', '--hard', 'HEAD^');
    await r.git(...signArgs(k.ops), 'merge', '--no-ff', '-S', '-q', '-m', 'signed merge', 'feature');
    const signedMerge = (await r.git('rev-parse', 'HEAD')).trim();
    for (const o of [opts(), tip()]) assert.equal((await verifyHistory(r.work, base, signedMerge, o)).trusted, true);
  });

  test('a rollback to an older signed commit (force-push) is refused unless the daemon accepts rewritten history', async () => {
    const older = await commit('vms.yaml', 'signed v1', k.ops);
    const applied = await commit('vms.yaml', 'signed v2', k.ops);
    for (const o of [opts(), tip()]) {
      const v = await verifyHistory(r.work, applied, older, o);
      assert.ok(!v.trusted && v.code === 'HISTORY_REWRITTEN', JSON.stringify(v));
    }
    assert.equal((await verifyHistory(r.work, applied, older, { ...opts(), acceptRewrittenHistory: true })).trusted, true);
    // A rewritten branch with an unsigned commit since the fork point stays refused even then.
    await r.git('reset', '-q', '--hard', older);
    const unsignedFork = await commit('vms.yaml', 'unsigned on the rewritten branch');
    for (const o of [opts(), tip()]) assert.equal((await verifyHistory(r.work, applied, unsignedFork, { ...o, acceptRewrittenHistory: true })).trusted, false);
  });
});
