import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveChannels } from '../../src/adapters/notify/channels.js';
import { resolveSecret, scrubSecrets, SecretError } from '../../src/adapters/notify/secrets.js';

const HOOK = 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX';

describe('resolveSecret', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vmb-creds-'));
    await writeFile(join(dir, 'slack-digest-webhook'), `  ${HOOK}\n`, { mode: 0o400 });
    await writeFile(join(dir, 'blank'), ' \n');
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads {env: NAME} from the environment', () => {
    assert.equal(resolveSecret({ env: 'SLACK_FAILURE_WEBHOOK' }, { SLACK_FAILURE_WEBHOOK: HOOK }), HOOK);
  });

  it('reads {credential: NAME} from $CREDENTIALS_DIRECTORY, trimmed', () => {
    assert.equal(resolveSecret({ credential: 'slack-digest-webhook' }, { CREDENTIALS_DIRECTORY: dir }), HOOK);
  });

  it('errors name the variable or credential and never a value', () => {
    const cases: [Parameters<typeof resolveSecret>[0], NodeJS.ProcessEnv, RegExp][] = [
      [{ env: 'SLACK_FAILURE_WEBHOOK' }, {}, /secret env SLACK_FAILURE_WEBHOOK: environment variable SLACK_FAILURE_WEBHOOK is not set/],
      [{ env: 'EMPTY' }, { EMPTY: '  ' }, /environment variable EMPTY is empty/],
      [{ env: 'BAD-NAME' }, {}, /not a valid environment variable name/],
      [{ credential: 'slack-digest-webhook' }, { SLACK: HOOK }, /\$CREDENTIALS_DIRECTORY is not set \(add LoadCredential=slack-digest-webhook:/],
      [{ credential: 'nope' }, { CREDENTIALS_DIRECTORY: dir }, /credential nope: cannot read \$CREDENTIALS_DIRECTORY\/nope \(ENOENT\)/],
      [{ credential: 'blank' }, { CREDENTIALS_DIRECTORY: dir }, /credential blank: \$CREDENTIALS_DIRECTORY\/blank is empty/],
      [{ credential: '../etc/shadow' }, { CREDENTIALS_DIRECTORY: dir }, /not a valid credential name/],
      [{ credential: 'a/b' }, { CREDENTIALS_DIRECTORY: dir }, /not a valid credential name/],
    ];
    for (const [ref, env, re] of cases) {
      assert.throws(() => resolveSecret(ref, env), (e: unknown) => {
        assert.ok(e instanceof SecretError);
        assert.match(e.message, re);
        assert.ok(!e.message.includes(HOOK) && !e.message.includes(dir), e.message);
        return true;
      });
    }
  });

  it('takes an injected reader (no file system needed)', () => {
    const seen: string[] = [];
    const v = resolveSecret({ credential: 'bacula-dir' }, { CREDENTIALS_DIRECTORY: '/run/credentials/vmbackup.service' }, (p) => { seen.push(p); return 'pw\n'; });
    assert.equal(v, 'pw');
    assert.deepEqual(seen, ['/run/credentials/vmbackup.service/bacula-dir']);
  });

  it('scrubSecrets removes a URL and its token path', () => {
    const s = scrubSecrets(`POST ${HOOK} failed; path /services/T000/B000/XXXXSECRETXXXX`, [HOOK]);
    assert.ok(!s.includes('XXXXSECRETXXXX'), s);
  });
});

describe('resolveChannels', () => {
  it('resolves every channel, and leaves out (and reports) those whose secret is missing', () => {
    const r = resolveChannels({
      slack: { failureWebhook: { env: 'SLACK_FAILURE_WEBHOOK' }, digestWebhook: { credential: 'slack-digest-webhook' }, digestSchedule: '0 18 * * 0' },
      webhook: { url: { env: 'TEAMS_WEBHOOK' } },
      email: { host: 'smtp.example', port: 587, from: 'vmbackup@example', to: ['ops@example'], user: 'vmb', password: { env: 'SMTP_PASSWORD' } },
    }, { SLACK_FAILURE_WEBHOOK: HOOK, TEAMS_WEBHOOK: 'not a url', SMTP_PASSWORD: 'hunter22' });
    assert.equal(r.channels.slackFailure, HOOK);
    assert.equal(r.channels.slackDigest, undefined);
    assert.equal(r.channels.webhook, undefined);
    assert.deepEqual(r.channels.email, { host: 'smtp.example', port: 587, from: 'vmbackup@example', to: ['ops@example'], user: 'vmb', password: 'hunter22' });
    assert.equal(r.problems.length, 2);
    assert.match(r.problems[0] ?? '', /^notifications\.slack\.digest_webhook \(credential slack-digest-webhook\) disabled: .*CREDENTIALS_DIRECTORY is not set/);
    assert.match(r.problems[1] ?? '', /^notifications\.webhook\.url \(env TEAMS_WEBHOOK\) disabled: the value is not an http\(s\) URL/);
    assert.ok(!r.problems.join('\n').includes('not a url'));
  });
});
