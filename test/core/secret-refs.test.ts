// A secret reference serves the one setting that declares it; the daemon's own secrets are off limits to the repo.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, loadPolicyRepo } from '../../src/core/load.js';

const load = (settings: string) => loadPolicyRepo([{ path: 'settings.yaml', text: `settings:\n${settings}` }]);
const codes = (r: ReturnType<typeof load>, code: string) => r.diagnostics.filter((d) => d.code === code).map(formatDiagnostic);

describe('secret references bound to their purpose', () => {
  it('the director password sent to the repo-named SMTP server is refused, located at the second use', () => {
    const r = load([
      '  bacula:',
      '    password: { env: BACULA_DIR_PASSWORD }',
      '  notifications:',
      '    email:',
      '      host: smtp.attacker.example',
      '      from: a@example.com',
      '      to: [b@example.com]',
      '      user: x',
      '      password: { env: BACULA_DIR_PASSWORD }',
    ].join('\n'));
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r, 'VMB_SECRET_REUSED'), [
      'settings.yaml:10:17: error: settings.notifications.email.password: env BACULA_DIR_PASSWORD is already the secret of settings.bacula.password (at settings.yaml:3:15); a secret may serve one setting only: give each its own [VMB_SECRET_REUSED]',
    ]);
  });

  it('a default reference counts: the FD password default cannot become a webhook URL', () => {
    const r = load('  notifications:\n    webhook:\n      url: { env: BACULA_FD_PASSWORD }\n');
    assert.match(codes(r, 'VMB_SECRET_REUSED').join('\n'), /settings\.yaml:4:12: .*env BACULA_FD_PASSWORD is already the secret of settings\.bacula\.client\.password \(by default\)/);
  });

  it('the same credential for two Slack webhooks is refused; distinct references are fine', () => {
    const same = load('  notifications:\n    slack:\n      failure_webhook: { credential: slack }\n      digest_webhook: { credential: slack }\n');
    assert.equal(codes(same, 'VMB_SECRET_REUSED').length, 1);
    const distinct = load('  notifications:\n    slack:\n      failure_webhook: { credential: slack-failure }\n      digest_webhook: { credential: slack-digest }\n');
    assert.deepEqual(distinct.diagnostics, []);
  });

  it("the daemon's own secrets cannot be referenced by the repository", () => {
    const r = load([
      '  notifications:',
      '    slack:',
      '      failure_webhook: { env: VMBACKUP_WEBHOOK_SECRET }',
      '      digest_webhook: { credential: webhook-hmac-secret }',
      '    webhook:',
      '      url: { env: CREDENTIALS_DIRECTORY }',
      '    email:',
      '      from: a@example.com',
      '      to: [b@example.com]',
      '      password: { credential: vmbackup-ssh-key }',
    ].join('\n'));
    const got = codes(r, 'VMB_SECRET_RESERVED');
    assert.equal(got.length, 4, got.join('\n'));
    assert.match(got.join('\n'), /settings\.yaml:4:24: error: settings\.notifications\.slack\.failure_webhook: env VMBACKUP_WEBHOOK_SECRET may not be referenced by the repository/);
    assert.match(got.join('\n'), /credential webhook-hmac-secret may not be referenced/);
    assert.match(got.join('\n'), /env CREDENTIALS_DIRECTORY may not be referenced/);
    assert.match(got.join('\n'), /credential vmbackup-ssh-key may not be referenced/);
  });

  it('the console API tokens credential (console-tokens) is the daemon\'s own too', () => {
    const r = load([
      '  notifications:',
      '    webhook:',
      '      url: { credential: console-tokens }',
    ].join('\n'));
    const got = codes(r, 'VMB_SECRET_RESERVED');
    assert.equal(got.length, 1, got.join('\n'));
    assert.match(got[0]!, /settings\.notifications\.webhook\.url: credential console-tokens may not be referenced by the repository: it is a credential of the daemon itself/);
  });
});
