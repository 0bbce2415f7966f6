// The console's tokens file and bearer header, parsed (pure), and the adapter's check of a token
// against the hashes (timing-safe, every entry compared, a good token remembered by the vault).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, parseTokenFile, tokenLine } from '../../src/core/console/tokens.js';
import { authenticator, mintToken, sha256Hex } from '../../src/adapters/console/auth.js';
import { SecretVault } from '../../src/adapters/secrets/vault.js';

const H = (c: string) => c.repeat(64);

test('parses names, roles and sha256 hashes; comments and blank lines are skipped', () => {
  const r = parseTokenFile(`# tokens\n\nalice operator sha256:${H('a')}\n  bob   admin   sha256:${H('B')}  \ncarol viewer sha256:${H('c')}\n`);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.tokens, [
    { name: 'alice', role: 'operator', digest: H('a') },
    { name: 'bob', role: 'admin', digest: H('b') },
    { name: 'carol', role: 'viewer', digest: H('c') },
  ]);
});

test('each bad line is an error with its line number (and the token itself is never accepted in the file)', () => {
  const r = parseTokenFile([`alice boss sha256:${H('a')}`, 'bob admin vmb_plaintexttoken', `bad/name viewer sha256:${H('a')}`, 'one two', `x viewer sha256:${H('a')}`, `x admin sha256:${H('b')}`, `y viewer sha1:${H('a').slice(0, 40)}`].join('\n'));
  assert.equal(r.errors.length, 6, r.errors.join('\n'));
  assert.match(r.errors[0]!, /line 1: role "boss"/);
  assert.match(r.errors[1]!, /line 2: .*token itself does not belong/);
  assert.match(r.errors[2]!, /line 3: token name/);
  assert.match(r.errors[3]!, /line 4: expected/);
  assert.match(r.errors[4]!, /line 6: token name x appears twice/);
  assert.match(r.errors[5]!, /line 7/);
  assert.deepEqual(r.tokens.map((t) => t.name), ['x']);
});

test('bearer header: scheme case-insensitive, one token of printable ASCII, nothing else', () => {
  assert.equal(bearerToken('Bearer vmb_abc'), 'vmb_abc');
  assert.equal(bearerToken('bearer  vmb_abc'), 'vmb_abc');
  assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken('Bearer '), undefined);
  assert.equal(bearerToken(undefined), undefined);
  assert.equal(bearerToken(`Bearer ${'x'.repeat(513)}`), undefined);
});

test('minted tokens verify against their line; wrong, truncated and other tokens do not; a good one is remembered by the vault', () => {
  const a = mintToken();
  const b = mintToken();
  assert.match(a.token, /^vmb_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.token, b.token);
  assert.equal(sha256Hex(a.token), a.digest);
  const line = tokenLine('alice', 'operator', a.digest);
  const vault = new SecretVault();
  const auth = authenticator(parseTokenFile(`${line}\n${tokenLine('bob', 'viewer', b.digest)}\n`).tokens, vault);
  assert.deepEqual(auth(a.token), { name: 'alice', role: 'operator' });
  assert.deepEqual(auth(b.token), { name: 'bob', role: 'viewer' });
  assert.equal(auth(a.token.slice(0, -1)), undefined);
  assert.equal(auth(a.digest), undefined, 'the hash is not a token');
  assert.equal(auth(''), undefined);
  assert.equal(vault.scrub(`x ${a.token} y`), 'x [redacted] y');
  assert.equal(authenticator([], vault)(a.token), undefined, 'no tokens file: nothing authenticates');
});
