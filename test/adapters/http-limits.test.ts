// The daemon's HTTP socket under abuse, over real loopback sockets: a connection cap that holds,
// a header deadline that cuts a Slowloris client, and a webhook body cap that answers 413 without
// reading (declared) or cuts the stream (chunked) and closes the connection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { buildHttpApp } from '../../src/adapters/http/app.js';
import { listen, serverLimits, type HttpServerHandle } from '../../src/adapters/http/listen.js';
import { gitHookRoutes } from '../../src/daemon/git-hook.js';

const SECRET = 'limits-secret';
const sign = (b: Buffer | string): string => `sha256=${createHmac('sha256', SECRET).update(b).digest('hex')}`;

/** A raw client: what the server sent, and when it closed the connection. */
interface Raw { sock: Socket; data: () => string; closed: Promise<number>; opened: number }

async function raw(h: HttpServerHandle): Promise<Raw> {
  const sock = connect(h.port, h.host);
  let data = '';
  sock.on('data', (c: Buffer) => { data += c.toString('latin1'); });
  sock.on('error', () => {});
  const closed = new Promise<number>((r) => sock.once('close', () => r(Date.now())));
  await new Promise((r) => sock.once('connect', r));
  return { sock, data: () => data, closed, opened: Date.now() };
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms))]);

function appWithHook(triggers: string[], maxBodyBytes?: number) {
  return buildHttpApp({
    readiness: () => ({ ready: true }), metrics: { render: () => '' },
    ...gitHookRoutes(SECRET, (r) => triggers.push(r)),
    ...(maxBodyBytes ? { maxBodyBytes } : {}),
  });
}

describe('HTTP limits on a real socket', () => {
  const triggers: string[] = [];
  let h: HttpServerHandle;
  before(async () => { h = await listen(appWithHook(triggers), { port: 0, maxConnections: 3, headersTimeoutMs: 600, requestTimeoutMs: 5_000 }); });
  after(async () => { await h.close(500); });

  test('limits are checked: a header deadline longer than the request deadline is refused', () => {
    assert.throws(() => serverLimits({ headersTimeoutMs: 10_000, requestTimeoutMs: 5_000 }), /at least the header timeout/);
    assert.throws(() => serverLimits({ maxConnections: 0 }), /max connections/);
    assert.deepEqual(serverLimits({}), { headersTimeout: 10_000, requestTimeout: 30_000, maxConnections: 64, connectionsCheckingInterval: 1000 });
  });

  test('the connection cap holds: the 4th connection is dropped unanswered; once one closes, a new one is served', async () => {
    const held: Raw[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await raw(h);
      c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'); // keep-alive: the connection stays open
      await within(new Promise<void>((r) => { const t = setInterval(() => { if (c.data().includes('\r\n\r\n')) { clearInterval(t); r(); } }, 5); }), 2000, 'answer');
      held.push(c);
    }
    assert.equal(h.server.maxConnections, 3);
    const extra = await raw(h);
    extra.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await within(extra.closed, 2000, 'the 4th connection closed by the server');
    assert.equal(extra.data(), '', 'no answer for a connection over the cap');
    held[0]!.sock.destroy();
    await held[0]!.closed;
    await new Promise((r) => setTimeout(r, 50));
    const after = await raw(h);
    after.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await within(after.closed, 2000, 'answer after a slot freed');
    assert.match(after.data(), /^HTTP\/1\.1 200 /);
    for (const c of held) c.sock.destroy();
    await new Promise((r) => setTimeout(r, 50));
  });

  test('Slowloris: headers dripping in are cut off after the header timeout (408, closed)', async () => {
    const c = await raw(h);
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => { if (!c.sock.destroyed) c.sock.write('X-A: b\r\n'); }, 100);
    try {
      const at = await within(c.closed, 3000, 'slow client cut off');
      const held = at - c.opened;
      assert.ok(held >= 500, `not cut before the deadline (${held} ms)`);
      assert.ok(held < 2000, `cut soon after the 600 ms deadline, not at Node's 30 s check (${held} ms)`);
      assert.match(c.data(), /^HTTP\/1\.1 408 /);
    } finally { clearInterval(drip); }
  });

  test('a connection that sends nothing is cut off after the header timeout too', async () => {
    const c = await raw(h);
    const at = await within(c.closed, 3000, 'idle client cut off');
    assert.ok(at - c.opened < 2000);
  });

  test('webhook: a declared Content-Length over 64 KiB is 413 at once, unread, connection closed', async () => {
    const big = await listen(appWithHook(triggers), { port: 0 });
    try {
      const c = await raw(big);
      // 100 KiB declared (under the old 1 MiB cap), none of it sent.
      c.sock.write(`POST /hooks/git HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: ${sign('x')}\r\nContent-Length: ${100 * 1024}\r\n\r\n`);
      await within(c.closed, 2000, '413 and close without reading');
      assert.match(c.data(), /^HTTP\/1\.1 413 /);
      assert.match(c.data(), /"code":"WEBHOOK_BODY_TOO_LARGE"/);
    } finally { await big.close(200); }
  });

  test('webhook: Expect: 100-continue over the cap is 413 without inviting the body; within the cap it is invited', async () => {
    const c = await raw(h);
    c.sock.write(`POST /hooks/git HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nX-Hub-Signature-256: ${sign('x')}\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
    await within(c.closed, 2000, '413 and close');
    assert.match(c.data(), /^HTTP\/1\.1 413 /);
    assert.ok(!c.data().includes('100 Continue'));
    const body = JSON.stringify({ after: 'b'.repeat(40) });
    const ok = await raw(h);
    ok.sock.write(`POST /hooks/git HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nX-Hub-Signature-256: ${sign(body)}\r\nContent-Length: ${body.length}\r\n\r\n`);
    await within(new Promise<void>((r) => { const t = setInterval(() => { if (ok.data().includes('100 Continue')) { clearInterval(t); r(); } }, 5); }), 2000, '100 Continue');
    ok.sock.write(body);
    await within(ok.closed, 2000, 'answer');
    assert.match(ok.data(), /HTTP\/1\.1 202 /);
  });

  test('webhook: a chunked body is cut at the cap: 413, connection closed, handler never called', async () => {
    const before = triggers.length;
    const c = await raw(h);
    c.sock.write(`POST /hooks/git HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: ${sign('x')}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let sent = 0;
    // Keep streaming (up to 4 MiB) until the server closes: it must stop us near the 64 KiB cap.
    while (!c.sock.destroyed && sent < 4 * 1024 * 1024 && !c.data().includes('413')) {
      c.sock.write(`${chunk.length.toString(16)}\r\n`); c.sock.write(chunk); c.sock.write('\r\n');
      sent += chunk.length;
      await new Promise((r) => setTimeout(r, 2));
    }
    await within(c.closed, 2000, 'connection closed after 413');
    assert.match(c.data(), /^HTTP\/1\.1 413 /);
    assert.ok(sent < 1024 * 1024, `the server stopped the stream early (${sent} bytes sent)`);
    assert.equal(triggers.length, before);
  });

  test('webhook: without a well-formed signature header the body is not waited for (401 at once, closed)', async () => {
    const c = await raw(h);
    c.sock.write('POST /hooks/git HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n'); // body never sent
    await within(c.closed, 2000, '401 without the body');
    assert.match(c.data(), /^HTTP\/1\.1 401 /);
    assert.match(c.data(), /"code":"WEBHOOK_BAD_SIGNATURE"/);
  });

  test('webhook: a signed body within the cap is accepted', async () => {
    const body = JSON.stringify({ after: 'a'.repeat(40) });
    const c = await raw(h);
    c.sock.write(`POST /hooks/git HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Hub-Signature-256: ${sign(body)}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await within(c.closed, 2000, 'answer');
    assert.match(c.data(), /^HTTP\/1\.1 202 /);
    assert.equal(triggers.at(-1), 'webhook aaaaaaaaaaaa');
  });
});
