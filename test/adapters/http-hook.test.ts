// POST /hooks/git through the real app (inject) and a real socket: HMAC, stable error codes,
// replayed deliveries refused (409, nothing triggered) within a bounded window.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { buildHttpApp } from '../../src/adapters/http/app.js';
import { listen } from '../../src/adapters/http/listen.js';
import { DeliveryLog } from '../../src/daemon/delivery-log.js';
import { gitHookRoutes } from '../../src/daemon/git-hook.js';

const SECRET = 'hook-secret';
const sign = (b: string): string => `sha256=${createHmac('sha256', SECRET).update(b).digest('hex')}`;

function hookApp(opts: { secret?: string | undefined; deliveries?: DeliveryLog } = {}) {
  const triggers: string[] = [];
  const app = buildHttpApp({
    readiness: () => ({ ready: true }), metrics: { render: () => '' },
    ...gitHookRoutes('secret' in opts ? opts.secret : SECRET, (r) => triggers.push(r), opts.deliveries),
  });
  const post = (body: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/hooks/git', body, headers: { 'x-hub-signature-256': sign(body), ...headers } });
  return { app, triggers, post };
}

const body = (after: string): string => JSON.stringify({ ref: 'refs/heads/main', after });

describe('POST /hooks/git', () => {
  test('a valid signature is 202 and triggers; a bad or missing one is 401 with a stable code', async () => {
    const { app, triggers, post } = hookApp();
    assert.equal((await post(body('c'.repeat(40)))).status, 202);
    assert.deepEqual(triggers, ['webhook cccccccccccc']);
    const bad = await app.inject({ method: 'POST', url: '/hooks/git', body: '{}', headers: { 'x-hub-signature-256': sign('other') } });
    assert.equal(bad.status, 401);
    assert.deepEqual(JSON.parse(bad.body), { statusCode: 401, code: 'WEBHOOK_BAD_SIGNATURE', error: 'Unauthorized', message: 'bad or missing X-Hub-Signature-256' });
    const none = await app.inject({ method: 'POST', url: '/hooks/git', body: '{}' });
    assert.equal(JSON.parse(none.body).code, 'WEBHOOK_BAD_SIGNATURE');
    assert.equal(triggers.length, 1);
  });

  test('no secret configured: 503 WEBHOOK_NOT_CONFIGURED; too large: 413 WEBHOOK_BODY_TOO_LARGE', async () => {
    const off = hookApp({ secret: undefined });
    const r = await off.post('{}');
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).code, 'WEBHOOK_NOT_CONFIGURED');
    const { app, post } = hookApp();
    const big = await post('x'.repeat(app.maxBodyBytes + 1));
    assert.equal(big.status, 413);
    assert.deepEqual(JSON.parse(big.body), { statusCode: 413, code: 'WEBHOOK_BODY_TOO_LARGE', error: 'Payload Too Large', message: `body larger than ${64 * 1024} bytes` });
  });

  test('a replayed X-GitHub-Delivery is 409 WEBHOOK_REPLAYED_DELIVERY and triggers nothing', async () => {
    const { triggers, post } = hookApp();
    const b = body('d'.repeat(40));
    const id = { 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };
    assert.equal((await post(b, id)).status, 202);
    const again = await post(b, id);
    assert.equal(again.status, 409);
    assert.deepEqual(JSON.parse(again.body), { statusCode: 409, code: 'WEBHOOK_REPLAYED_DELIVERY', error: 'Conflict', message: 'this delivery id was already received' });
    assert.equal(triggers.length, 1, 'the replay triggered nothing');
    assert.equal((await post(b, { 'x-github-delivery': 'another-id' })).status, 202, 'a new delivery id is a new delivery');
  });

  test('Gitea/Forgejo delivery headers are checked too; the same id under another header is a replay', async () => {
    const { triggers, post } = hookApp();
    const b = body('e'.repeat(40));
    assert.equal((await post(b, { 'x-gitea-delivery': 'g-1' })).status, 202);
    assert.equal((await post(b, { 'x-gitea-delivery': 'g-1' })).status, 409);
    assert.equal((await post(b, { 'x-github-delivery': 'g-1' })).status, 409);
    assert.equal((await post(b, { 'x-forgejo-delivery': 'f-1', 'x-gitea-delivery': 'f-1', 'x-github-delivery': 'f-1' })).status, 202);
    assert.equal(triggers.length, 2);
  });

  test('a delivery without an id header is accepted each time (ping tools, curl)', async () => {
    const { triggers, post } = hookApp();
    const b = body('f'.repeat(40));
    assert.equal((await post(b)).status, 202);
    assert.equal((await post(b)).status, 202);
    assert.equal(triggers.length, 2);
  });

  test('unsigned or badly signed requests never enter the delivery log (cannot block a real delivery)', async () => {
    const { app, triggers, post } = hookApp();
    const b = body('1'.repeat(40));
    const forged = await app.inject({ method: 'POST', url: '/hooks/git', body: b, headers: { 'x-hub-signature-256': sign('x'), 'x-github-delivery': 'real-1' } });
    assert.equal(forged.status, 401);
    assert.equal((await post(b, { 'x-github-delivery': 'real-1' })).status, 202);
    assert.equal(triggers.length, 1);
  });

  test('a malformed delivery id is 400 WEBHOOK_BAD_DELIVERY_ID', async () => {
    const { post, triggers } = hookApp();
    for (const bad of ['', 'x'.repeat(129), 'a b', 'a\u00e9']) {
      const r = await post(body('2'.repeat(40)), { 'x-github-delivery': bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(JSON.parse(r.body).code, 'WEBHOOK_BAD_DELIVERY_ID');
    }
    assert.equal(triggers.length, 0);
  });

  test('the window: a delivery id is forgotten after 24 h; memory is bounded to the newest ids', () => {
    let now = 0;
    const log = new DeliveryLog({ now: () => now });
    log.record(['a']);
    now += 24 * 3600 * 1000 - 1;
    assert.equal(log.seen(['a']), true);
    now += 1;
    assert.equal(log.seen(['a']), false);
    assert.equal(log.size, 0);
    const small = new DeliveryLog({ maxIds: 3, now: () => now });
    for (const id of ['1', '2', '3', '4']) small.record([id]);
    assert.equal(small.size, 3);
    assert.equal(small.seen(['1']), false, 'the oldest was evicted');
    assert.equal(small.seen(['4']), true);
    const big = new DeliveryLog();
    for (let i = 0; i < 20_000; i++) big.record([`id-${i}`]);
    assert.equal(big.size, 10_000, 'default bound: the newest 10,000 ids');
  });

  test('replay over a real socket: 202, then 409 for the same delivery', async () => {
    const { app, triggers } = hookApp();
    const h = await listen(app, { port: 0 });
    try {
      const b = body('3'.repeat(40));
      const send = () => fetch(`${h.url}/hooks/git`, { method: 'POST', body: b, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(b), 'x-github-delivery': 'sock-1' } });
      assert.equal((await send()).status, 202);
      const r = await send();
      assert.equal(r.status, 409);
      assert.equal(((await r.json()) as { code: string }).code, 'WEBHOOK_REPLAYED_DELIVERY');
      assert.equal(triggers.length, 1);
    } finally { await h.close(200); }
  });
});
