import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findLiteralSecrets } from '../../src/core/secrets-scan.js';

// findLiteralSecrets skips strings that contain none of `:` `=` `-p`/`-P` `xox` `-----BEGIN`; these
// pin that every pattern is still reached through that pre-check.
describe('findLiteralSecrets', () => {
  const flagged: [string, string][] = [
    ['see https://hooks.slack.com/services/T0/B0/XXXX', 'a Slack webhook URL'],
    ['HTTPS://x.webhook.office.com/abc', 'a Teams webhook URL'],
    ['http://discordapp.com/api/webhooks/1/x', 'a Discord webhook URL'],
    ['postgres://user:pw@db/x', 'a URL with an embedded password'],
    ['xoxb-1234567890-abc', 'a Slack token'],
    ['-----BEGIN OPENSSH PRIVATE KEY-----', 'a private key'],
    ['mysqldump -p secret db', 'a password on a command line'],
    ['mysqldump -psecret db', ''],
    ['mysqldump -P=secret', 'a password on a command line'],
    ['tool --PASSWORD=x', 'a password on a command line'],
    ['tool --passwd x', 'a password on a command line'],
    ['TOKEN: abc', 'a password assignment'],
    ['a;secret=abc', 'a password assignment'],
  ];
  for (const [s, what] of flagged) {
    test(`${what || 'not flagged'}: ${s}`, () => {
      const hits = findLiteralSecrets({ vms: [{ description: s }] });
      assert.deepEqual(hits, what ? [{ path: ['vms', 0, 'description'], what }] : []);
    });
  }

  test('plain strings and keys', () => {
    assert.deepEqual(findLiteralSecrets({ vms: [{ name: 'web-01', labels: { tier: 'prod' }, cmd: ['pg_dump', '-U', 'app'] }] }), []);
    assert.deepEqual(findLiteralSecrets({ settings: { x_webhook: 'y', url: 'z', nested: [{ Password: 'p' }] } }), [
      { path: ['settings', 'x_webhook'], what: 'a literal value for "x_webhook"' },
      { path: ['settings', 'url'], what: 'a literal value for "url"' },
      { path: ['settings', 'nested', 0, 'Password'], what: 'a literal value for "Password"' },
    ]);
  });

  test('hit paths are independent copies; a caller prefix is kept', () => {
    const hits = findLiteralSecrets(['token=a', 'token=b'], ['root']);
    assert.deepEqual(hits.map((h) => h.path), [['root', 0], ['root', 1]]);
  });
});
