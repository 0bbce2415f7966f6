import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { buildHttpApp, type HttpDeps, type Readiness } from '../../src/adapters/http/app.js';
import { listen, parseListenAddress, type HttpServerHandle } from '../../src/adapters/http/listen.js';
import { MetricsRegistry } from '../../src/adapters/http/metrics-registry.js';
import { createLogger } from '../../src/adapters/logger.js';
import { PassThrough } from 'node:stream';

function makeApp(over: Partial<HttpDeps> = {}) {
  let readiness: Readiness = { ready: false, code: 'NO_APPLIED_REVISION' };
  const hooks: { body: Buffer; headers: Record<string, unknown> }[] = [];
  const metrics = new MetricsRegistry({ version: 't' });
  const app = buildHttpApp({
    readiness: () => readiness,
    metrics,
    onGitHook: (body, headers) => { hooks.push({ body, headers }); return { status: 202, body: { accepted: true } }; },
    ...over,
  });
  return { app, hooks, metrics, setReady: (r: Readiness) => { readiness = r; } };
}

describe('HTTP app without a socket (inject)', () => {
  test('/healthz is 200 while the loop runs', async () => {
    const { app } = makeApp();
    const r = await app.inject({ url: '/healthz' });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).status, 'ok');
    assert.equal((await app.inject({ method: 'HEAD', url: '/healthz' })).body, '');
  });

  test('/readyz: 503 with a reason code until ready, then 200; a throwing or hanging check is 503 with a code, not its text', async () => {
    const { app, setReady } = makeApp();
    let r = await app.inject({ url: '/readyz' });
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { status: 'not_ready', reason: 'NO_APPLIED_REVISION' });
    assert.match(r.headers['content-type']!, /^application\/json/);
    setReady({ ready: true, revision: 'abc1234' });
    r = await app.inject({ url: '/readyz?verbose=1' });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { status: 'ready', revision: 'abc1234' });
    const boom = makeApp({ readiness: () => { throw new Error('state store closed'); } }).app;
    assert.deepEqual(JSON.parse((await boom.inject({ url: '/readyz' })).body), { status: 'not_ready', reason: 'READINESS_CHECK_FAILED' });
    const slow = makeApp({ readiness: () => new Promise<Readiness>(() => {}), handlerTimeoutMs: 20 }).app;
    const s = await slow.inject({ url: '/readyz' });
    assert.equal(s.status, 503);
    assert.deepEqual(JSON.parse(s.body), { status: 'not_ready', reason: 'READINESS_CHECK_TIMEOUT' });
  });

  test('/metrics serves the registry in the text format', async () => {
    const { app, metrics } = makeApp();
    metrics.setRevision('r1');
    const r = await app.inject({ url: '/metrics' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(r.body, /^vmbackup_config_info\{revision="r1"\} 1$/m);
    const broken = makeApp({ metrics: { render: () => { throw new Error('x'); } } }).app;
    assert.equal((await broken.inject({ url: '/metrics' })).status, 500);
  });

  test('POST /hooks/git gets the raw body and headers; GET is 405; no handler is 404; too big is 413', async () => {
    const { app, hooks } = makeApp();
    const raw = Buffer.from('{"ref":"refs/heads/main"}  ');
    const r = await app.inject({ method: 'POST', url: '/hooks/git', headers: { 'x-hub-signature-256': 'sha256=00' }, body: raw });
    assert.equal(r.status, 202);
    assert.deepEqual(JSON.parse(r.body), { accepted: true });
    assert.ok(hooks[0]!.body.equals(raw), 'the exact bytes, for the HMAC');
    assert.equal(hooks[0]!.headers['x-hub-signature-256'], 'sha256=00');
    const g = await app.inject({ url: '/hooks/git' });
    assert.equal(g.status, 405);
    assert.equal(g.headers.allow, 'POST');
    const bare = buildHttpApp({ readiness: () => ({ ready: true }), metrics: { render: () => '' } });
    assert.equal((await bare.inject({ method: 'POST', url: '/hooks/git', body: 'x' })).status, 404);
    assert.equal((await app.inject({ method: 'POST', url: '/hooks/git', body: Buffer.alloc(app.maxBodyBytes + 1) })).status, 413);
    assert.equal((await app.inject({ method: 'POST', url: '/hooks/git', body: Buffer.alloc(app.maxBodyBytes) })).status, 202, 'exactly the cap (64 KiB) is allowed');
    assert.equal(app.maxBodyBytes, 64 * 1024);
  });

  test('a failing hook handler is a 500 and is logged through the pino logger, secrets redacted', async () => {
    const dest = new PassThrough();
    let logged = '';
    dest.on('data', (c: Buffer) => { logged += c.toString(); });
    const { app } = makeApp({ log: createLogger({ destination: dest }), onGitHook: () => { throw Object.assign(new Error('bad signature'), { secret: 's3cret' }); } });
    const r = await app.inject({ method: 'POST', url: '/hooks/git', body: '{}' });
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.body), { statusCode: 500, code: 'WEBHOOK_HANDLER_FAILED', error: 'Internal Server Error', message: 'hook handler failed' });
    await new Promise((res) => setImmediate(res));
    const line = JSON.parse(logged.trim().split('\n').at(-1)!);
    assert.equal(line.msg, 'git hook handler failed');
    assert.equal(line.err.message, 'bad signature');
    assert.ok(!logged.includes('s3cret'), 'redacted');
  });

  test('unknown paths are 404, wrong methods 405', async () => {
    const { app } = makeApp();
    assert.equal((await app.inject({ url: '/' })).status, 404);
    assert.equal((await app.inject({ url: '/metrics/../healthz' })).status, 404);
    assert.equal((await app.inject({ method: 'DELETE', url: '/metrics' })).status, 405);
  });

  test('listen address parsing', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:9478'), { host: '127.0.0.1', port: 9478 });
    assert.deepEqual(parseListenAddress('[::1]:80'), { host: '::1', port: 80 });
    assert.deepEqual(parseListenAddress(':9000'), { host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseListenAddress('9000'), { host: '127.0.0.1', port: 9000 });
    assert.ok('error' in parseListenAddress('::1:80'));
    assert.ok('error' in parseListenAddress('host:99999'));
  });
});

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function call(h: HttpServerHandle, method: string, path: string, body?: Buffer, chunked = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = chunked ? { 'transfer-encoding': 'chunked' } : body ? { 'content-length': String(body.length) } : {};
    const req = request({ host: h.host, port: h.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body && chunked) { for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024)); }
    req.end(body && !chunked ? body : undefined);
  });
}

describe('HTTP app over a real loopback socket', () => {
  let h: HttpServerHandle;
  let ctx: ReturnType<typeof makeApp>;
  before(async () => { ctx = makeApp(); h = await listen(ctx.app, { port: 0 }); });
  after(async () => { await h.close(1000); });

  test('binds 127.0.0.1 by default and serves every route', async () => {
    assert.equal(h.host, '127.0.0.1');
    assert.match(h.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await call(h, 'GET', '/healthz')).status, 200);
    assert.equal((await call(h, 'GET', '/readyz')).status, 503);
    ctx.setReady({ ready: true });
    assert.equal((await call(h, 'GET', '/readyz')).status, 200);
    const m = await call(h, 'GET', '/metrics');
    assert.match(m.body, /^# TYPE vmbackup_reconcile_duration_seconds histogram$/m);
    assert.equal(m.headers['cache-control'], 'no-store');
    const head = await call(h, 'HEAD', '/metrics');
    assert.equal(head.body, '');
  });

  test('webhook body: raw bytes delivered; over the cap refused with 413 by Content-Length and when streamed', async () => {
    const small = Buffer.from('{"after":"deadbeef"}');
    const ok = await call(h, 'POST', '/hooks/git', small);
    assert.equal(ok.status, 202);
    assert.ok(ctx.hooks.at(-1)!.body.equals(small));
    const before = ctx.hooks.length;
    const big = Buffer.alloc(ctx.app.maxBodyBytes + 1, 0x61);
    const declared = await call(h, 'POST', '/hooks/git', big).catch((e: NodeJS.ErrnoException) => ({ status: e.code ?? 'error' }));
    assert.equal(declared.status, 413);
    const streamed = await call(h, 'POST', '/hooks/git', big, true).catch((e: NodeJS.ErrnoException) => ({ status: e.code ?? 'error' }));
    assert.equal(streamed.status, 413);
    assert.equal(ctx.hooks.length, before, 'the handler never saw an oversized body');
    assert.equal((await call(h, 'POST', '/hooks/git', Buffer.alloc(ctx.app.maxBodyBytes, 0x62), true)).status, 202, 'exactly the cap streamed is allowed');
  });

  test('close() returns even with an idle keep-alive connection open', async () => {
    const other = await listen(makeApp().app, { port: 0 });
    const sock = connect(other.port, other.host);
    await new Promise((r) => sock.once('connect', r));
    sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => sock.once('data', r));
    const t0 = Date.now();
    await other.close(2000);
    assert.ok(Date.now() - t0 < 1500, 'idle connections are closed at once');
    sock.destroy();
  });

  test('a taken port is an error from listen()', async () => {
    await assert.rejects(listen(makeApp().app, { port: h.port }), /EADDRINUSE/);
  });
});
