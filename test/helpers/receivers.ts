// In-process receivers for notification tests: an HTTP server capturing webhook POSTs (with a
// scripted response per request) and an SMTP server (nodemailer's smtp-server) capturing mail.
// Both listen on 127.0.0.1 on an ephemeral port.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Captured { path: string; headers: IncomingHttpHeaders; body: string; json: unknown; at: number }
export interface Reply { status: number; headers?: Record<string, string>; body?: string }

export interface HttpReceiver {
  url(path: string): string;
  requests: Captured[];
  /** Resolves when at least `n` requests arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<Captured[]>;
  close(): Promise<void>;
}

async function poll<T>(done: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = done();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `reply(i, req)` decides the i-th response (0-based); default 200 `ok` as Slack answers. */
export async function startHttpReceiver(reply: (i: number, c: Captured) => Reply = () => ({ status: 200, body: 'ok' })): Promise<HttpReceiver> {
  const requests: Captured[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try { json = JSON.parse(body); } catch { json = undefined; }
      const c: Captured = { path: req.url ?? '', headers: req.headers, body, json, at: Date.now() };
      const r = reply(requests.length, c);
      requests.push(c);
      res.writeHead(r.status, { 'content-type': 'text/plain', ...r.headers });
      res.end(r.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    waitFor: (n, timeoutMs = 5000) => poll(() => (requests.length >= n ? requests : undefined), timeoutMs, `${n} HTTP request(s)`),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export interface Mail { from: string; to: string[]; raw: string; headers: Map<string, string>; subject: string; text: string; user?: string }

export interface SmtpReceiver {
  port: number;
  mails: Mail[];
  waitFor(n: number, timeoutMs?: number): Promise<Mail[]>;
  close(): Promise<void>;
}

/** Minimal RFC 5322 reading for single-part text mail: unfolded headers, QP/base64 body. */
export function parseMail(raw: string): Pick<Mail, 'headers' | 'subject' | 'text'> {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  let body = raw.slice(split + 4);
  const cte = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'quoted-printable') {
    const bytes = Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    body = bytes.toString('utf8');
  } else if (cte === 'base64') body = Buffer.from(body, 'base64').toString('utf8');
  const subject = (headers.get('subject') ?? '').replace(/=\?utf-8\?([QB])\?([^?]*)\?=\s*/gi, (_, enc: string, t: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(t, 'base64').toString('utf8')
      : Buffer.from(t.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'));
  return { headers, subject, text: body.replace(/\r\n/g, '\n') };
}

/** With `auth`, clients must log in with that user/password (plain auth allowed without TLS). */
export async function startSmtpReceiver(auth?: { user: string; password: string }): Promise<SmtpReceiver> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', ...(auth ? [] : ['AUTH'])],
    authOptional: !auth,
    allowInsecureAuth: true,
    logger: false,
    onAuth(a, _session, cb) {
      if (auth && a.username === auth.user && a.password === auth.password) cb(null, { user: a.username });
      else cb(new Error('invalid credentials'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const env = session.envelope;
        mails.push({
          from: env.mailFrom ? env.mailFrom.address : '', to: env.rcptTo.map((r) => r.address), raw, ...parseMail(raw),
          ...(typeof session.user === 'string' ? { user: session.user } : {}),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    waitFor: (n, timeoutMs = 5000) => poll(() => (mails.length >= n ? mails : undefined), timeoutMs, `${n} mail(s)`),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
