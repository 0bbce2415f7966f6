import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { headCommit, syncCheckout, verifyCommitSignature } from '../../src/adapters/git/checkout.js';

const POLICY = 'vms:\n  - name: app-01\n    hypervisor: hv-01\n    schedule: daily\n';

async function policyRepo(): Promise<TestRepo> {
  const src = await mkdtemp(join(tmpdir(), 'vmbackup-policy-'));
  await writeFile(join(src, 'vms.yaml'), POLICY);
  try { return await makeRepo(src); } finally { await rm(src, { recursive: true, force: true }); }
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);
const remoteHead = async (r: TestRepo): Promise<string> => (await execa('git', ['--git-dir', r.bare, 'rev-parse', 'main'])).stdout;

describe('syncCheckout', () => {
  let r: TestRepo;
  let stateDir: string;
  before(async () => { r = await policyRepo(); stateDir = join(r.root, 'state'); });
  after(async () => r.cleanup());

  test('clones the remote into <stateDir>/repo and reports the head commit', async () => {
    const res = await syncCheckout({ source: r.bare, stateDir });
    assert.equal(res.dir, join(stateDir, 'repo'));
    assert.equal(res.cloned, true);
    assert.equal(res.fetched, true);
    assert.equal(res.commit, await remoteHead(r));
    assert.equal(await headCommit(res.dir), res.commit);
    assert.equal(await readFile(join(res.dir, 'vms.yaml'), 'utf8'), POLICY);
  });

  test('discards uncommitted edits, untracked files and local commits: only origin/<branch> is applied', async () => {
    const dir = join(stateDir, 'repo');
    await writeFile(join(dir, 'vms.yaml'), 'vms: []\n');
    await mkdir(join(dir, 'extra'));
    await writeFile(join(dir, 'extra', 'evil.yaml'), 'vms: []\n');
    await writeFile(join(dir, 'staged.yaml'), 'x: 1\n');
    await execa('git', ['-C', dir, 'add', 'staged.yaml']);
    await execa('git', ['-C', dir, '-c', 'user.name=x', '-c', 'user.email=x@x', '-c', 'commit.gpgsign=false', 'commit', '-qm', 'local only']);
    await writeFile(join(dir, 'untracked.yaml'), 'vms: []\n');
    const res = await syncCheckout({ source: r.bare, stateDir });
    assert.equal(res.cloned, false);
    assert.equal(res.commit, await remoteHead(r));
    assert.equal(await readFile(join(dir, 'vms.yaml'), 'utf8'), POLICY);
    for (const p of ['extra', 'staged.yaml', 'untracked.yaml']) assert.equal(await exists(join(dir, p)), false, p);
    assert.equal((await execa('git', ['-C', dir, 'status', '--porcelain', '--ignored'])).stdout, '');
  });

  test('picks up a new commit pushed to the remote', async () => {
    await writeFile(join(r.work, 'policies.yaml'), 'policies: []\n');
    await r.git('add', '-A');
    await r.git('commit', '-qm', 'add policies');
    await r.git('push', '-q', 'origin', 'main');
    const res = await syncCheckout({ source: r.bare, stateDir });
    assert.equal(res.commit, await remoteHead(r));
    assert.equal(await exists(join(res.dir, 'policies.yaml')), true);
  });

  test('remote unreachable: still reset to the last fetched commit, with the fetch error reported', async () => {
    const dir = join(stateDir, 'repo');
    const before = await headCommit(dir);
    await writeFile(join(dir, 'vms.yaml'), 'edited: true\n');
    await rename(r.bare, `${r.bare}.away`);
    try {
      const res = await syncCheckout({ source: r.bare, stateDir });
      assert.equal(res.fetched, false);
      assert.match(res.fetchError ?? '', /origin\.git|repository/);
      assert.equal(res.commit, before);
      assert.equal(await readFile(join(dir, 'vms.yaml'), 'utf8'), POLICY);
    } finally {
      await rename(`${r.bare}.away`, r.bare);
    }
  });

  test('never fetched and unreachable: a clear error', async () => {
    await assert.rejects(syncCheckout({ source: join(r.root, 'nowhere.git'), stateDir: join(r.root, 'state2') }), /nowhere\.git/);
  });

  test('an invalid branch name is refused before git sees it', async () => {
    await assert.rejects(syncCheckout({ source: r.bare, stateDir, branch: '--upload-pack=x' }), /invalid branch/);
  });
});

describe('verifyCommitSignature (real ssh signing keys)', () => {
  let r: TestRepo;
  let keys: string;
  let allowed: string;
  const commit = async (msg: string, key?: string): Promise<string> => {
    await writeFile(join(r.work, `${msg}.txt`), msg);
    await r.git('add', '-A');
    const sign = key ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key}`, 'commit', '-S'] : ['commit'];
    await r.git(...sign, '-qm', msg);
    return r.git('rev-parse', 'HEAD');
  };
  before(async () => {
    r = await policyRepo();
    keys = join(r.root, 'keys');
    await mkdir(keys);
    for (const k of ['ops', 'other']) await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', join(keys, k)], { stdin: 'ignore' });
    allowed = join(keys, 'allowed_signers');
    await writeFile(allowed, `ops@example.invalid ${(await readFile(join(keys, 'ops.pub'), 'utf8')).trim()}\n`);
  });
  after(async () => r.cleanup());

  test('signed by an allowed key: trusted, with the signer', async () => {
    const c = await commit('signed', join(keys, 'ops'));
    const v = await verifyCommitSignature(r.work, c, { allowedSignersFile: allowed });
    assert.equal(v.trusted, true, v.reason);
    assert.equal(v.kind, 'ssh');
    assert.equal(v.status, 'G');
    assert.equal(v.signer, 'ops@example.invalid');
    assert.match(v.key ?? '', /^SHA256:/);
    assert.equal(v.commit, c);
  });

  test('unsigned: untrusted, with the reason', async () => {
    const c = await commit('unsigned');
    const v = await verifyCommitSignature(r.work, c, { allowedSignersFile: allowed });
    assert.equal(v.trusted, false);
    assert.equal(v.kind, 'none');
    assert.match(v.reason, /is not signed/);
  });

  test('signed by another key: untrusted', async () => {
    const c = await commit('other', join(keys, 'other'));
    const v = await verifyCommitSignature(r.work, c, { allowedSignersFile: allowed });
    assert.equal(v.trusted, false);
    assert.equal(v.status, 'U');
    assert.match(v.reason, /not an allowed signer/);
  });

  test('signed by the allowed key but no signers configured: untrusted', async () => {
    const c = await commit('signed-again', join(keys, 'ops'));
    const v = await verifyCommitSignature(r.work, c);
    assert.equal(v.trusted, false);
    assert.match(v.reason, /no allowed signers file/);
  });

  test("a signers file in the repo's own git config does not count", async () => {
    const c = await commit('other-2', join(keys, 'other'));
    const repoAllowed = join(keys, 'repo_signers');
    await writeFile(repoAllowed, `x@x ${(await readFile(join(keys, 'other.pub'), 'utf8')).trim()}\n`);
    await r.git('config', 'gpg.ssh.allowedSignersFile', repoAllowed);
    try {
      assert.equal((await verifyCommitSignature(r.work, c, { allowedSignersFile: allowed })).trusted, false);
    } finally {
      await r.git('config', '--unset', 'gpg.ssh.allowedSignersFile');
    }
  });

  test('an unknown revision or an option-like argument is an error', async () => {
    await assert.rejects(verifyCommitSignature(r.work, '--output=/tmp/x', { allowedSignersFile: allowed }), /unknown commit/);
  });
});

describe('verifyCommitSignature (gpg keyring)', () => {
  let r: TestRepo;
  let signerHome: string;
  let keyring: string;
  const gpgEnv = (home: string): Record<string, string> => ({ GNUPGHOME: home });
  before(async () => {
    r = await policyRepo();
    signerHome = join(r.root, 'gnupg-signer');
    keyring = join(r.root, 'gnupg-allowed');
    await mkdir(signerHome, { mode: 0o700 });
    await mkdir(keyring, { mode: 0o700 });
    await execa('gpg', ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Ops <ops@example.invalid>', 'ed25519', 'sign', 'never'], { env: gpgEnv(signerHome) });
  });
  after(async () => {
    for (const home of [signerHome, keyring]) await execa('gpgconf', ['--kill', 'all'], { env: gpgEnv(home), reject: false });
    await r.cleanup();
  });

  test('trusted only with a keyring holding the key', async () => {
    const fpr = (await execa('gpg', ['--list-keys', '--with-colons'], { env: gpgEnv(signerHome) })).stdout.split('\n').find((l) => l.startsWith('fpr'))?.split(':')[9] ?? '';
    await writeFile(join(r.work, 'g.txt'), 'g');
    await r.git('add', '-A');
    await execa('git', ['-C', r.work, '-c', 'user.name=Ops', '-c', 'user.email=ops@example.invalid', '-c', `user.signingkey=${fpr}`, 'commit', '-S', '-qm', 'gpg'], { env: gpgEnv(signerHome) });
    const c = await r.git('rev-parse', 'HEAD');
    assert.equal((await verifyCommitSignature(r.work, c, { gpgKeyring: keyring })).trusted, false, 'empty keyring');
    assert.match((await verifyCommitSignature(r.work, c)).reason, /no gpg keyring/);
    // Armored, and not stripped: execa drops a final newline, which in a binary export is a key byte.
    const pub = (await execa('gpg', ['--armor', '--export', fpr], { env: gpgEnv(signerHome), stripFinalNewline: false })).stdout;
    await execa('gpg', ['--batch', '--quiet', '--import'], { env: gpgEnv(keyring), input: pub });
    const v = await verifyCommitSignature(r.work, c, { gpgKeyring: keyring });
    assert.equal(v.trusted, true, v.reason);
    assert.equal(v.kind, 'gpg');
    assert.match(v.signer ?? '', /ops@example\.invalid/);
  });
});
