// The console API's fastify app over an in-memory ConsoleService (no daemon): auth before the
// body is read, strict bodies (nothing reaches the service with an unknown field), empty bodies
// on acts that need none, error bodies, SSE keep-alive comments and the stream bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { buildConsoleApp } from '../../src/adapters/console/app.js';
import type { AdhocRequest, ConsoleService, Principal, ProgressEvent, QueuedAction } from '../../src/ports/console.js';

const PRINCIPALS: Record<string, Principal> = { v: { name: 'v', role: 'viewer' }, o: { name: 'o', role: 'operator' }, a: { name: 'a', role: 'admin' } };

function fake(): ConsoleService & { submitted: { req: AdhocRequest; by: Principal }[]; emit(a: QueuedAction): void } {
  const listeners = new Set<(e: ProgressEvent) => void>();
  const submitted: { req: AdhocRequest; by: Principal }[] = [];
  const action = (req: AdhocRequest, by: Principal): QueuedAction => ({ id: `${req.kind}-1`, kind: req.kind, vm: req.vm, hypervisor: 'hv1', by: `api:${by.name}`, requestedAt: '2026-12-03T00:00:00.000Z', state: 'queued', phase: 'queued', revision: 'r1' });
  return {
    submitted,
    emit: (a) => { for (const l of listeners) l({ action: a }); },
    fleet: async () => ({ vms: [], revisions: { lastAttemptErrors: [] } }),
    vm: async () => undefined, runs: async () => [], run: async () => undefined, hypervisors: async () => [],
    storage: async () => ({ alert_percent: 80, alert: false, by_hypervisor: {}, by_vm: {}, history: [] }),
    revisions: async () => ({ lastAttemptErrors: [] }), actions: () => [], action: () => undefined,
    submit: async (req, by) => { submitted.push({ req, by }); return { ok: true, action: action(req, by) }; },
    cancel: async () => ({ ok: false, status: 404, code: 'ACTION_NOT_FOUND', message: 'no' }),
    pause: async (vm, until, reason, by) => ({ ok: true, pause: { vm, until, reason, by: `api:${by.name}`, at: 'now' } }),
    resume: async () => ({ ok: true }), audit: async () => [],
    subscribe: (l) => { listeners.add(l); return () => { listeners.delete(l); }; },
    testRestoreScreenshot: async (vm) => (vm === 'web-01' ? SHOT : undefined),
    prunePreview: async (vm) => (vm === 'web-01' ? { ok: true, preview: { vm, dry_run: true, points: 2, prune: [{ id: 'p1', reasons: ['no keep rule matched'] }], detail: 'would prune 1 of 2: p1 (no keep rule matched)' } } : { ok: false, status: 404, code: 'VM_NOT_FOUND', message: 'no' }),
  };
}

const SHOT = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

const build = (svc = fake(), o: { keepAliveMs?: number; maxEventStreams?: number } = {}) => buildConsoleApp({ service: svc, authenticate: (t) => PRINCIPALS[t], ...o });
const auth = (t: string) => ({ authorization: `Bearer ${t}` });

test('acts: an empty body is fine where none is needed; an unknown field never reaches the service', async () => {
  const svc = fake();
  const app = await build(svc);
  const empty = await app.inject({ method: 'POST', url: '/api/v1/vms/web-01/backup', headers: auth('o') });
  assert.equal(empty.statusCode, 202, empty.body);
  assert.equal(empty.json().by, 'api:o');
  for (const body of [{ by: 'api:mallory' }, { at: '2020-01-01T00:00:00Z' }, { vm: 'other' }]) {
    const r = await app.inject({ method: 'POST', url: '/api/v1/vms/web-01/backup', headers: auth('o'), payload: body });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().error.code, 'API_BAD_REQUEST');
  }
  const r = await app.inject({ method: 'POST', url: '/api/v1/vms/web-01/verify', headers: auth('o'), payload: { backupId: '2026-01-01-000000', by: 'x' } });
  assert.equal(r.statusCode, 400);
  assert.deepEqual(svc.submitted.map((s) => [s.req.kind, s.req.vm, s.by.name]), [['backup', 'web-01', 'o']]);
  await app.close();
});

test('no token: 401 before the body is read (an oversized body from a stranger is not parsed); a bad VM name is 400', async () => {
  const app = await build();
  const r = await app.inject({ method: 'POST', url: '/api/v1/vms/web-01/pause', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(100 * 1024) });
  assert.equal(r.statusCode, 401);
  assert.equal(r.headers['www-authenticate'], 'Bearer realm="vmbackup"');
  assert.deepEqual(r.json(), { error: { code: 'API_UNAUTHORIZED', message: 'a valid API token is required (Authorization: Bearer <token>)' } });
  const big = await app.inject({ method: 'POST', url: '/api/v1/vms/web-01/pause', headers: { 'content-type': 'application/json', ...auth('o') }, payload: JSON.stringify({ until: '1h', reason: 'x'.repeat(100 * 1024) }) });
  assert.equal(big.statusCode, 413);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/vms/..%2Fetc', headers: auth('v') })).statusCode, 400);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/nope', headers: auth('v') })).json().error.code, 'API_NOT_FOUND');
  await app.close();
});

test('SSE: queued/running actions first, then progress events, keep-alive comments; the stream count is bounded and freed', async () => {
  const svc = fake();
  const app = await build(svc, { keepAliveMs: 50, maxEventStreams: 1 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1/events`;
  const ac = new AbortController();
  const r = await fetch(url, { headers: auth('v'), signal: ac.signal });
  assert.equal(r.status, 200);
  const second = await fetch(url, { headers: auth('v') });
  assert.equal(second.status, 503);
  assert.equal((await second.json() as { error: { code: string } }).error.code, 'API_TOO_MANY_STREAMS');
  let text = '';
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  setTimeout(() => svc.emit({ id: 'backup-9', kind: 'backup', vm: 'web-01', hypervisor: 'hv1', by: 'api:o', requestedAt: 'x', state: 'running', phase: 'copying', percent: 42, revision: 'r1' }), 20);
  while (!(text.includes('keep-alive') && text.includes('"percent":42'))) text += new TextDecoder().decode((await reader.read()).value);
  assert.match(text, /event: progress\nid: backup-9\ndata: \{.*"phase":"copying","percent":42/);
  assert.match(text, /\n: keep-alive\n\n/);
  ac.abort();
  let again = 0;
  for (let i = 0; i < 50 && again !== 200; i++) {
    await new Promise((res) => setTimeout(res, 20));
    const x = new AbortController();
    again = (await fetch(url, { headers: auth('v'), signal: x.signal })).status;
    x.abort();
  }
  assert.equal(again, 200, 'the slot is freed when a client goes away');
  await app.close();
});

test('the test-restore screenshot: viewer, image/png with the bytes; none → 404 SCREENSHOT_NOT_FOUND; no token → 401; in the OpenAPI document as image/png', async () => {
  const app = await build(fake());
  const r = await app.inject({ method: 'GET', url: '/api/v1/vms/web-01/test-restore/screenshot', headers: auth('v') });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.headers['content-type'], 'image/png');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.deepEqual(r.rawPayload, SHOT);
  const none = await app.inject({ method: 'GET', url: '/api/v1/vms/db-01/test-restore/screenshot', headers: auth('v') });
  assert.equal(none.statusCode, 404);
  assert.equal(none.json().error.code, 'SCREENSHOT_NOT_FOUND');
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/vms/web-01/test-restore/screenshot' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/vms/..%2Fx/test-restore/screenshot', headers: auth('v') })).statusCode, 400);
  const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
  assert.ok(doc.paths['/api/v1/vms/{vm}/test-restore/screenshot'].get.responses['200'].content['image/png']);
  await app.close();
});

test('prune: {} queues the VM\'s retention (202); {dry_run: true} answers what would go (200) without queueing; a backupId is refused (400); admin only', async () => {
  const svc = fake();
  const app = await build(svc);
  const post = (who: string, body: unknown, vm = 'web-01') => app.inject({ method: 'POST', url: `/api/v1/vms/${vm}/prune`, headers: { ...auth(who), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  const dry = await post('a', { dry_run: true });
  assert.equal(dry.statusCode, 200, dry.body);
  assert.deepEqual(dry.json().prune, [{ id: 'p1', reasons: ['no keep rule matched'] }]);
  assert.equal(dry.json().dry_run, true);
  assert.equal(svc.submitted.length, 0, 'a dry run queues nothing');
  assert.equal((await post('a', { dry_run: true }, 'db-01')).json().error.code, 'VM_NOT_FOUND');
  assert.equal((await post('o', { dry_run: true })).statusCode, 403);
  assert.equal((await post('a', { backupId: '2026-01-01-000000' })).statusCode, 400);
  const real = await post('a', {});
  assert.equal(real.statusCode, 202);
  assert.deepEqual(svc.submitted.map((x) => x.req), [{ kind: 'prune', vm: 'web-01' }]);
  const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
  assert.ok(doc.paths['/api/v1/vms/{vm}/prune'].post.responses['200'] && doc.paths['/api/v1/vms/{vm}/prune'].post.responses['202']);
  await app.close();
});
