// Credentials go to a repo-named SMTP server only inside TLS, unless the daemon's own environment allows plain text.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { plaintextAllowance, resolveChannels } from '../../src/adapters/notify/channels.js';
import { Mailer, type EmailChannel } from '../../src/adapters/notify/email.js';
import { SecretVault } from '../../src/adapters/secrets/vault.js';

const PASSWORD = 'smtp-S3cret-over-tls';

interface Seen { auths: { user: string; password: string; secure: boolean }[]; lines: string[]; mails: number }

async function startServer(tls: { key: Buffer; cert: Buffer } | undefined): Promise<{ port: number; seen: Seen; close: () => Promise<void> }> {
  const seen: Seen = { auths: [], lines: [], mails: 0 };
  const log = (...a: unknown[]): void => { seen.lines.push(a.map(String).join(' ')); };
  const opts: SMTPServerOptions = {
    secure: false,
    ...(tls ? { key: tls.key, cert: tls.cert } : { disabledCommands: ['STARTTLS'] }),
    allowInsecureAuth: true,
    logger: { info: log, debug: log, error: log, warn: log, trace: log, fatal: log, level: () => undefined, child: () => undefined } as never,
    onAuth(a, session, cb) {
      seen.auths.push({ user: a.username ?? '', password: a.password ?? '', secure: Boolean(session.secure) });
      cb(null, { user: a.username });
    },
    onData(stream, _s, cb) { stream.resume(); stream.on('end', () => { seen.mails++; cb(); }); },
  };
  const server = new SMTPServer(opts);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('SMTP credentials and TLS', () => {
  let dir: string;
  let key: Buffer;
  let cert: Buffer;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmb-smtp-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    key = readFileSync(join(dir, 'key.pem'));
    cert = readFileSync(join(dir, 'cert.pem'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const channel = (port: number, extra: Partial<EmailChannel> = {}): EmailChannel =>
    ({ host: '127.0.0.1', port, from: 'vmbackup@example.com', to: ['ops@example.com'], user: 'vmbackup', password: PASSWORD, ...extra });

  it('delivers the password over STARTTLS to a server whose certificate is trusted', async () => {
    const s = await startServer({ key, cert });
    const m = new Mailer(channel(s.port), { ca: cert });
    try {
      await m.send('subject', 'body');
      assert.equal(s.seen.mails, 1);
      assert.deepEqual(s.seen.auths, [{ user: 'vmbackup', password: PASSWORD, secure: true }]);
    } finally { m.close(); await s.close(); }
  });

  it('refuses to log in to a plain-text server: no AUTH is ever sent, the error names no password', async () => {
    const s = await startServer(undefined);
    const m = new Mailer(channel(s.port));
    try {
      await assert.rejects(m.send('subject', 'body'), (e: Error) => { assert.ok(!e.message.includes(PASSWORD), e.message); return true; });
      assert.deepEqual(s.seen.auths, []);
      assert.equal(s.seen.mails, 0);
      assert.ok(!s.seen.lines.some((l) => /\bAUTH\b/i.test(l) && !/250/.test(l)), s.seen.lines.filter((l) => /AUTH/i.test(l)).join('\n'));
      assert.ok(!s.seen.lines.some((l) => l.includes(PASSWORD) || l.includes(Buffer.from(`\u0000vmbackup\u0000${PASSWORD}`).toString('base64'))));
    } finally { m.close(); await s.close(); }
  });

  it('refuses a STARTTLS server whose certificate is not trusted (no AUTH sent)', async () => {
    const s = await startServer({ key, cert });
    const m = new Mailer(channel(s.port));
    try {
      await assert.rejects(m.send('subject', 'body'));
      assert.deepEqual(s.seen.auths, []);
    } finally { m.close(); await s.close(); }
  });

  it('plain text only with the daemon-side allowance (VMBACKUP_ALLOW_PLAINTEXT_SMTP=1), never from the repo', async () => {
    const s = await startServer(undefined);
    const notifications = { email: { host: '127.0.0.1', port: s.port, from: 'vmbackup@example.com', to: ['ops@example.com'], user: 'vmbackup', password: { env: 'SMTP_PASSWORD' } } };
    const denied = resolveChannels(notifications, { SMTP_PASSWORD: PASSWORD }, undefined, new SecretVault());
    assert.equal(denied.channels.email?.allowPlaintext, undefined);
    const allowedEnv = { SMTP_PASSWORD: PASSWORD, VMBACKUP_ALLOW_PLAINTEXT_SMTP: '1' };
    const allowed = resolveChannels(notifications, allowedEnv, undefined, new SecretVault(), plaintextAllowance(allowedEnv));
    const m = new Mailer(allowed.channels.email!);
    try {
      await m.send('subject', 'body');
      assert.deepEqual(s.seen.auths.map((a) => a.secure), [false]);
    } finally { m.close(); await s.close(); }
  });

  it('secret-bearing webhook URLs must be https unless the daemon allows http', () => {
    const n = { slack: { failureWebhook: { env: 'SLACK' }, digestSchedule: '0 18 * * 0' }, webhook: { url: { env: 'HOOK' } } };
    const env = { SLACK: 'http://hooks.example.com/services/T/B/tok3n', HOOK: 'https://hooks.example.com/x/tok3n' };
    const r = resolveChannels(n, env, undefined, new SecretVault());
    assert.equal(r.channels.slackFailure, undefined);
    assert.equal(r.channels.webhook, env.HOOK);
    assert.match(r.problems.join('\n'), /failure_webhook \(env SLACK\) disabled: a secret-bearing URL must be https/);
    assert.ok(!r.problems.join('\n').includes('tok3n'));
    const ok = resolveChannels(n, { ...env, VMBACKUP_ALLOW_PLAINTEXT_HTTP: '1' }, undefined, new SecretVault());
    assert.equal(ok.channels.slackFailure, env.SLACK);
  });
});
