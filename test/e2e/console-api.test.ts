// The console API against the real daemon process: tokens minted by the CLI, every route for
// every role (401 without a token, 403 below the role), the OpenAPI document, the ad-hoc queue
// (queued, running, cancel, 409), SSE, pauses that expire by themselves, the audit trail that
// cannot be forged, the listener's limits on /api, and no token in logs, state or audit files.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';
import { CLI } from '../helpers/paths.js';
import { acquireLock } from '../../src/adapters/lock.js';

type Role = 'viewer' | 'operator' | 'admin';
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Every API route: method, path as OpenAPI spells it, a concrete path, a body, the least role. */
const ROUTES: { method: 'GET' | 'POST'; spec: string; path: string; body?: unknown; need: Role | 'public' }[] = [
  { method: 'GET', spec: '/api/v1/openapi.json', path: '/api/v1/openapi.json', need: 'public' },
  { method: 'GET', spec: '/api/v1/fleet', path: '/api/v1/fleet', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/vms', path: '/api/v1/vms', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/vms/{vm}', path: '/api/v1/vms/app-02', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/vms/{vm}/runs', path: '/api/v1/vms/app-02/runs', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/vms/{vm}/test-restore/screenshot', path: '/api/v1/vms/app-02/test-restore/screenshot', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/runs', path: '/api/v1/runs?limit=5', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/runs/{id}', path: '/api/v1/runs/no-such-run', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/hypervisors', path: '/api/v1/hypervisors', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/storage', path: '/api/v1/storage', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/revisions', path: '/api/v1/revisions', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/actions', path: '/api/v1/actions', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/actions/{id}', path: '/api/v1/actions/no-such-action', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/audit', path: '/api/v1/audit?since=2026-01', need: 'viewer' },
  { method: 'GET', spec: '/api/v1/events', path: '/api/v1/events', need: 'viewer' },
  { method: 'POST', spec: '/api/v1/vms/{vm}/backup', path: '/api/v1/vms/app-02/backup', body: {}, need: 'operator' },
  { method: 'POST', spec: '/api/v1/vms/{vm}/verify', path: '/api/v1/vms/app-02/verify', body: { backupId: '2026-01-01-000000' }, need: 'operator' },
  { method: 'POST', spec: '/api/v1/vms/{vm}/test-restore', path: '/api/v1/vms/app-02/test-restore', body: { backupId: '2026-01-01-000000' }, need: 'operator' },
  { method: 'POST', spec: '/api/v1/vms/{vm}/prune', path: '/api/v1/vms/app-02/prune', body: {}, need: 'admin' },
  { method: 'POST', spec: '/api/v1/vms/{vm}/restore', path: '/api/v1/vms/app-02/restore', body: { backupId: '2026-01-01-000000', mode: 'new', name: 'app-02-copy', network: 'none' }, need: 'admin' },
  { method: 'POST', spec: '/api/v1/actions/{id}/cancel', path: '/api/v1/actions/no-such-action/cancel', body: {}, need: 'operator' },
  { method: 'POST', spec: '/api/v1/vms/{vm}/pause', path: '/api/v1/vms/app-02/pause', body: { until: '1h', reason: 'role matrix' }, need: 'operator' },
  { method: 'POST', spec: '/api/v1/vms/{vm}/resume', path: '/api/v1/vms/app-02/resume', body: {}, need: 'operator' },
];

describe('console API (real daemon)', () => {
  let root = '';
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;
  let silent: Server | undefined;
  const held: Socket[] = [];
  const tokens = {} as Record<Role, string>;
  let tokensFile = '';

  const call = async (method: string, path: string, o: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any; headers: Headers }> => {
    const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body !== undefined || o.raw ? { 'content-type': 'application/json' } : {}), ...o.headers };
    const r = await fetch(`${d!.url}${path}`, { method, headers, ...(o.raw !== undefined ? { body: o.raw } : o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
    const text = await r.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: r.status, json, headers: r.headers };
  };
  const as = (role: Role) => (method: string, path: string, body?: unknown) => call(method, path, { token: tokens[role], ...(body !== undefined ? { body } : {}) });

  /** Reads an SSE stream until `until` holds for the events so far (or the timeout). */
  async function sse(token: string, until: (evs: any[]) => boolean, timeoutMs = 60_000): Promise<{ events: any[]; raw: string }> {
    const ac = new AbortController();
    const r = await fetch(`${d!.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events: any[] = [];
    let raw = '';
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      const dec = new TextDecoder();
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        raw += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = raw.indexOf('\n\n')) >= 0) {
          const block = raw.slice(0, i);
          raw = raw.slice(i + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) events.push(JSON.parse(data));
        }
        if (until(events)) break;
      }
    } catch (e) { if ((e as Error).name !== 'AbortError') throw e; } finally { clearTimeout(timer); ac.abort(); }
    return { events, raw };
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-h2api-'));
    // A "hypervisor" that accepts SSH connections and never answers: a backup of its VMs runs (and
    // holds its concurrency slot) for the connect timeout, then fails.
    silent = createServer((s) => { held.push(s); s.on('error', () => undefined); });
    await new Promise<void>((r) => silent!.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const storage = join(root, 'storage');
    await mkdir(storage, { recursive: true });
    const src = join(root, 'seed');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'fleet.yaml'), [
      'settings:',
      `  storage_root: ${storage}`,
      '  scheduler: cron',
      `  ssh: { control_dir: ${join(root, 'ssh')}, connect_timeout_seconds: 4 }`,
      'hypervisors:',
      `  - { name: hv-silent, address: 127.0.0.1, ssh: { user: root, port: ${port} }, storage_root: ${storage} }`,
      'vms:',
      '  - { name: app-01, hypervisor: hv-silent, schedule: weekly, retention: { keep_last: 3 } }',
      '  - { name: app-02, hypervisor: hv-silent, schedule: weekly, retention: { keep_last: 3 } }',
      '',
    ].join('\n'));
    repo = await makeRepo(src);
    const lines: string[] = ['# console tokens (hashes only)'];
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const r = await execa(process.execPath, [CLI, 'daemon', 'token', '--name', `t-${role}`, '--role', role, '--json'], { env: { NO_COLOR: '1' } });
      const out = JSON.parse(r.stdout) as { token: string; line: string };
      tokens[role] = out.token;
      assert.match(out.line, new RegExp(`^t-${role} ${role} sha256:[0-9a-f]{64}$`));
      assert.ok(!out.line.includes(out.token));
      lines.push(out.line);
    }
    tokensFile = join(root, 'console-tokens');
    await writeFile(tokensFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    d = await startDaemon(repo.bare, join(root, 'state'), ['--api-tokens', tokensFile, '--api-max-streams', '2', '--header-timeout', '1', '--request-timeout', '5', '--stop-timeout', '20']);
    await waitFor('first reconcile', async () => { const r = await call('GET', '/api/v1/fleet', { token: tokens.viewer }); return r.status === 200 && r.json.vms.length === 2; }, 90_000)
      .catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
  });
  after(async () => {
    await d?.stop().catch(() => undefined);
    for (const s of held) s.destroy();
    silent?.close();
    await repo?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  test('OpenAPI 3 document: public, parses, lists every route with its method and the bearer scheme', async () => {
    const r = await call('GET', '/api/v1/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.json;
    assert.match(doc.openapi, /^3\.0\./);
    assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
    for (const rt of ROUTES) assert.ok(doc.paths[rt.spec]?.[rt.method.toLowerCase()], `${rt.method} ${rt.spec} missing from the OpenAPI document`);
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${p}`)).filter((x) => x.includes('/api/')).sort();
    assert.deepEqual(documented, ROUTES.map((x) => `${x.method} ${x.spec}`).sort(), 'the document and the route table agree');
    assert.deepEqual(Object.keys(doc.paths).filter((p) => !p.startsWith('/api/v1/')), [], 'only the API is described');
    // Validated against the OpenAPI 3.0 specification by openapi-spec-validator (Python, on the machine image).
    const v = await execa('python3', ['-c', 'import json,sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))\nprint("valid")'], { input: JSON.stringify(doc), reject: false });
    assert.equal(v.exitCode, 0, `openapi-spec-validator: ${v.stderr.slice(-2000)}`);
    assert.equal(v.stdout.trim(), 'valid');
    for (const [p, ops] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(ops as Record<string, any>)) {
      assert.ok(op.responses && Object.keys(op.responses).length, `${m} ${p} has responses`);
      if (m === 'post') assert.ok(op.requestBody?.content?.['application/json']?.schema?.additionalProperties === false, `${m} ${p}: the body refuses unknown fields`);
    }
  });

  test('401 without a token or with a wrong one (WWW-Authenticate: Bearer), on every route but openapi.json', async () => {
    for (const rt of ROUTES.filter((x) => x.need !== 'public')) {
      for (const token of [undefined, 'vmb_wrong', tokens.admin.slice(0, -1)]) {
        const r = await call(rt.method, rt.path, { ...(token ? { token } : {}), ...(rt.body !== undefined ? { body: rt.body } : {}) });
        assert.equal(r.status, 401, `${rt.method} ${rt.path} with ${token ? 'a wrong token' : 'no token'}`);
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.equal(r.json.error.code, 'API_UNAUTHORIZED');
      }
    }
    assert.equal((await call('GET', '/api/v1/fleet', { headers: { authorization: `Basic ${Buffer.from(`x:${tokens.admin}`).toString('base64')}` } })).status, 401);
  });

  test('every route for every role: 403 below its role, answered at or above it', async () => {
    for (const rt of ROUTES.filter((x) => x.need !== 'public')) {
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        if (rt.path.endsWith('/events')) {
          if (RANK[role] >= RANK[rt.need as Role]) { const s = await sse(tokens[role], () => true, 5_000); assert.ok(Array.isArray(s.events)); }
          continue;
        }
        const r = await as(role)(rt.method, rt.path, rt.body);
        if (RANK[role] < RANK[rt.need as Role]) {
          assert.equal(r.status, 403, `${role} ${rt.method} ${rt.path}: ${JSON.stringify(r.json)}`);
          assert.equal(r.json.error.code, 'API_FORBIDDEN');
        } else {
          assert.ok(![401, 403, 500].includes(r.status), `${role} ${rt.method} ${rt.path}: ${r.status} ${JSON.stringify(r.json)}`);
          assert.ok(r.status < 400 || r.json.error?.code, `${role} ${rt.method} ${rt.path}: an error body with a code`);
        }
      }
    }
    const audit = (await as('viewer')('GET', '/api/v1/audit')).json as any[];
    assert.ok(audit.some((e) => e.by === 'api:t-viewer' && e.act === 'backup' && e.result === 'refused' && /API_FORBIDDEN/.test(e.detail)), 'a role refusal is audited');
    assert.ok(audit.some((e) => e.by === 'api:t-operator' && e.act === 'prune' && e.result === 'refused'), 'an operator prune is refused and audited');
  });

  test('read routes: fleet, VM view with restore points and runs, hypervisors, storage history, revisions', async () => {
    const v = as('viewer');
    const fleet = (await v('GET', '/api/v1/fleet')).json;
    assert.deepEqual(fleet.vms.map((x: any) => x.status.vm).sort(), ['app-01', 'app-02']);
    assert.ok(fleet.revisions.lastAppliedRevision);
    assert.equal(fleet.revisions.lastAppliedRevision, fleet.revisions.lastAttemptedRevision);
    const vm = (await v('GET', '/api/v1/vms/app-01')).json;
    assert.equal(vm.status.vm, 'app-01');
    assert.ok(Array.isArray(vm.status.restore_points) && Array.isArray(vm.runs) && Array.isArray(vm.actions));
    assert.equal((await v('GET', '/api/v1/vms/nope')).json.error.code, 'VM_NOT_FOUND');
    const runs = (await v('GET', '/api/v1/runs')).json as any[];
    assert.ok(runs.length >= 1, 'the first reconcile tried the backups');
    const one = (await v('GET', `/api/v1/runs/${encodeURIComponent(runs[0].id)}`)).json;
    assert.equal(one.id, runs[0].id);
    assert.ok(Array.isArray(one.steps));
    const hv = (await v('GET', '/api/v1/hypervisors')).json;
    assert.deepEqual(hv.map((h: any) => [h.name, h.vms.sort()]), [['hv-silent', ['app-01', 'app-02']]]);
    const st = (await v('GET', '/api/v1/storage')).json;
    assert.equal(st.alert_percent, 80);
    assert.equal(typeof st.alert, 'boolean');
    assert.equal(st.history.length, 1, 'one sample for today');
    assert.equal(st.history[0].day, new Date().toISOString().slice(0, 10));
    assert.equal((await v('GET', '/api/v1/runs?limit=0')).status, 400);
    assert.equal((await v('GET', '/api/v1/fleet?x=1')).json.error.code, 'API_BAD_REQUEST');
  });

  test('ad-hoc backup: queued then running (SSE phases), a second one waits and is cancelled, the running one cannot be (409)', async () => {
    const op = as('operator');
    const watch = sse(tokens.viewer, (evs) => evs.some((e) => e.vm === 'app-01' && e.kind === 'backup' && ['ok', 'failed'].includes(e.state) && e.by === 'api:t-operator'), 90_000);
    const a = await op('POST', '/api/v1/vms/app-01/backup', {});
    assert.equal(a.status, 202, JSON.stringify(a.json));
    assert.equal(a.json.state, 'queued');
    assert.equal(a.json.by, 'api:t-operator');
    assert.ok(a.json.revision);
    await waitFor('A running', async () => (await op('GET', `/api/v1/actions/${a.json.id}`)).json.state === 'running', 60_000, 50);
    const b = await op('POST', '/api/v1/vms/app-01/backup', {});
    assert.equal(b.status, 202);
    assert.equal(b.json.state, 'queued');
    const running = await op('POST', `/api/v1/actions/${a.json.id}/cancel`, {});
    assert.equal(running.status, 409);
    assert.equal(running.json.error.code, 'ACTION_NOT_QUEUED');
    const c = await op('POST', `/api/v1/actions/${b.json.id}/cancel`, {});
    assert.equal(c.status, 202, JSON.stringify(c.json));
    assert.equal(c.json.state, 'cancelled');
    assert.equal((await op('POST', `/api/v1/actions/${b.json.id}/cancel`, {})).status, 409, 'cancelled already');
    const { events } = await watch;
    const mine = events.filter((e) => e.id === a.json.id);
    assert.ok(mine.some((e) => e.state === 'running' && e.phase === 'lock'), `phases: ${mine.map((e) => `${e.state}/${e.phase}`).join(' ')}`);
    assert.equal(mine.at(-1).state, 'failed', 'the silent hypervisor never answers');
    assert.ok(events.some((e) => e.id === b.json.id && e.state === 'cancelled'));
    const list = (await op('GET', '/api/v1/actions')).json as any[];
    assert.ok(list.some((x) => x.id === a.json.id && x.state === 'failed' && x.finishedAt));
    const audit = ((await op('GET', '/api/v1/audit')).json as any[]).filter((e) => e.action_id === a.json.id || e.action_id === b.json.id);
    assert.deepEqual(audit.filter((e) => e.action_id === a.json.id && e.act === 'backup').map((e) => e.result), ['accepted', 'failed']);
    assert.deepEqual(audit.filter((e) => e.action_id === b.json.id && e.act === 'backup').map((e) => e.result), ['accepted', 'cancelled']);
    assert.ok(audit.every((e) => e.by === 'api:t-operator' && e.role === 'operator' && e.revision));
  });

  test('pause through the API shows on the VM and ends by itself; resume; bad until/reason refused', async () => {
    const op = as('operator');
    const until = new Date(Date.now() + 4000).toISOString();
    const p = await op('POST', '/api/v1/vms/app-02/pause', { until, reason: 'disk swap' });
    assert.equal(p.status, 200, JSON.stringify(p.json));
    assert.equal(p.json.by, 'api:t-operator');
    assert.equal((await op('GET', '/api/v1/vms/app-02')).json.pause?.reason, 'disk swap');
    // The pause is reconciled at once (status, metrics, runs_on: hypervisor hosts), not at the next poll.
    await waitFor('a reconcile triggered by the pause', async () => /vmbackup_reconcile_triggers_total\{reason="pause"\} [1-9]/.test(await (await fetch(`${d!.url}/metrics`)).text()), 10_000, 200);
    await waitFor('pause expired', async () => (await op('GET', '/api/v1/vms/app-02')).json.pause === undefined, 15_000, 250);
    assert.equal((await op('POST', '/api/v1/vms/app-02/pause', { until: 'tomorrow', reason: 'x' })).json.error.code, 'BAD_UNTIL');
    assert.equal((await op('POST', '/api/v1/vms/app-02/pause', { until: '1h', reason: 'two\nlines' })).json.error.code, 'BAD_REASON');
    assert.equal((await op('POST', '/api/v1/vms/nope/pause', { until: '1h', reason: 'x' })).status, 404);
    await op('POST', '/api/v1/vms/app-02/pause', { until: '2h', reason: 'again' });
    const r = await op('POST', '/api/v1/vms/app-02/resume', {});
    assert.equal(r.status, 200);
    assert.equal(r.json.was.reason, 'again');
    assert.equal((await op('GET', '/api/v1/vms/app-02')).json.pause, undefined);
  });

  test('the audit trail cannot be forged: by/at in a body are refused (400) and never written', async () => {
    const op = as('admin');
    for (const [path, body] of [
      ['/api/v1/vms/app-02/pause', { until: '1h', reason: 'forged', by: 'api:mallory' }],
      ['/api/v1/vms/app-02/pause', { until: '1h', reason: 'forged', at: '2020-01-01T00:00:00Z' }],
      ['/api/v1/vms/app-02/backup', { by: 'api:mallory' }],
      ['/api/v1/vms/app-02/restore', { backupId: '2026-01-01-000000', mode: 'new', name: 'x1', network: 'none', by: 'api:mallory' }],
      ['/api/v1/actions/x/cancel', { by: 'api:mallory' }],
    ] as const) {
      const r = await op('POST', path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'API_BAD_REQUEST');
    }
    const files = await readdir(join(d!.stateDir, 'audit'));
    const text = (await Promise.all(files.map((f) => readFile(join(d!.stateDir, 'audit', f), 'utf8')))).join('');
    assert.ok(!/mallory|forged|2020-01-01/.test(text), 'no forged line in the audit files');
    assert.ok(text.split('\n').filter(Boolean).every((l) => /"by":"(api:t-(viewer|operator|admin)|daemon)"/.test(l)), 'every line is by a token name');
  });

  test('a body over 64 KiB gets 413; a non-JSON body 415; bad JSON 400', async () => {
    const big = JSON.stringify({ until: '1h', reason: 'x'.repeat(70 * 1024) });
    const r = await call('POST', '/api/v1/vms/app-02/pause', { token: tokens.operator, raw: big });
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, 'API_BODY_TOO_LARGE');
    const t = await call('POST', '/api/v1/vms/app-02/resume', { token: tokens.operator, raw: 'x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(t.status, 415, JSON.stringify(t.json));
    assert.equal((await call('POST', '/api/v1/vms/app-02/resume', { token: tokens.operator, raw: '{' })).status, 400);
  });

  test('event streams are bounded (--api-max-streams 2: the third gets 503) and freed when closed', async () => {
    const open = async () => { const ac = new AbortController(); const r = await fetch(`${d!.url}/api/v1/events`, { headers: { authorization: `Bearer ${tokens.viewer}` }, signal: ac.signal }); return { r, ac }; };
    const s1 = await open();
    const s2 = await open();
    assert.equal(s1.r.status, 200);
    assert.equal(s2.r.status, 200);
    const third = await call('GET', '/api/v1/events', { token: tokens.viewer });
    assert.equal(third.status, 503);
    assert.equal(third.json.error.code, 'API_TOO_MANY_STREAMS');
    s1.ac.abort();
    await waitFor('a slot again', async () => { const x = await open(); const ok = x.r.status === 200; x.ac.abort(); return ok; }, 10_000, 100);
    s2.ac.abort();
  });

  test('the listener\'s header deadline applies to /api too (a slow-header client is cut)', async () => {
    const t0 = Date.now();
    const u = new URL(d!.url);
    const got = await new Promise<string>((resolve) => {
      const s = connect(Number(u.port), u.hostname, () => s.write(`GET /api/v1/fleet HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.viewer}\r\n`));
      let buf = '';
      s.on('data', (b) => { buf += b.toString(); });
      s.on('close', () => resolve(buf));
      s.on('error', () => resolve(buf));
    });
    assert.ok(Date.now() - t0 < 4_000, `cut after ${Date.now() - t0} ms`);
    assert.ok(got === '' || /^HTTP\/1\.1 408/.test(got), got);
  });

  test('the old routes still answer on the same listener; / redirects to /ui/', async () => {
    assert.equal((await fetch(`${d!.url}/healthz`)).status, 200);
    assert.match(await (await fetch(`${d!.url}/metrics`)).text(), /vmbackup_/);
    const r = await fetch(`${d!.url}/`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/ui/');
    // The web pages are registered on the same app (src/adapters/console/web/routes.ts): the login form answers.
    const login = await fetch(`${d!.url}/ui/login`, { redirect: 'manual' });
    assert.equal(login.status, 200, await login.text());
    assert.match(login.headers.get('content-type') ?? '', /text\/html/);
    const lost = await fetch(`${d!.url}/ui/no-such-page`, { redirect: 'manual' });
    assert.ok([303, 404].includes(lost.status), String(lost.status));
    assert.doesNotMatch(await lost.text(), /"statusCode"|API_NOT_FOUND/);
  });

  test('tokens never appear in the daemon\'s log, state.json or the audit files; each request is logged once without headers', async () => {
    const stateText = await readFile(join(d!.stateDir, 'state.json'), 'utf8');
    const auditText = (await Promise.all((await readdir(join(d!.stateDir, 'audit'))).map((f) => readFile(join(d!.stateDir, 'audit', f), 'utf8')))).join('');
    for (const [role, token] of Object.entries(tokens)) {
      for (const [what, text] of [['log', d!.logs()], ['state.json', stateText], ['audit', auditText]] as const) {
        assert.ok(!text.includes(token), `the ${role} token is in the ${what}`);
        assert.ok(!text.includes(token.slice(4, 24)), `part of the ${role} token is in the ${what}`);
      }
    }
    assert.ok(!/authorization|bearer/i.test(d!.logs()), 'no header in the log');
    assert.match(d!.logs(), /"msg":"api request"/);
  });

  test('no tokens file: every API request gets 401 (openapi.json still answers)', async () => {
    const x = await startDaemon(repo!.bare, join(root, 'state-notokens'));
    try {
      await waitFor('listening', async () => (await fetch(`${x.url}/healthz`)).status === 200, 30_000, 100);
      const r = await fetch(`${x.url}/api/v1/fleet`, { headers: { authorization: `Bearer ${tokens.admin}` } });
      assert.equal(r.status, 401);
      assert.equal((await fetch(`${x.url}/api/v1/openapi.json`)).status, 200);
      assert.match(x.logs(), /no tokens file/);
    } finally { await x.stop(); }
  });

  test('a world-readable tokens file or a symlink: the daemon refuses to start', async () => {
    const loose = join(root, 'loose-tokens');
    await writeFile(loose, await readFile(tokensFile, 'utf8'));
    await chmod(loose, 0o644);
    const link = join(root, 'link-tokens');
    await (await import('node:fs/promises')).symlink(tokensFile, link);
    for (const [file, why] of [[loose, /readable or writable by others/], [link, /symlink/]] as const) {
      const x = await startDaemon(repo!.bare, join(root, `state-${file.split('/').at(-1)}`), ['--api-tokens', file]);
      const r = await x.proc;
      assert.equal(r.exitCode, 1, x.logs());
      assert.match(x.logs(), why);
    }
  });

  /** An action once it is ok, failed or cancelled. */
  const finished = (id: string, ms = 90_000) => waitFor(`action ${id} finished`, async () => {
    const a = (await as('viewer')('GET', `/api/v1/actions/${id}`)).json;
    return ['ok', 'failed', 'cancelled'].includes(a.state) ? a : undefined;
  }, ms, 100).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
  /** vmbackup_adhoc_actions_total by `kind result`. */
  const adhocMetrics = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`${d!.url}/metrics`)).text();
    return Object.fromEntries([...text.matchAll(/^vmbackup_adhoc_actions_total\{([^}]*)\} (\d+)/gm)].map((m) => {
      const l = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      return [`${l.kind} ${l.result}`, Number(m[2])];
    }));
  };

  test('prune is retention (no backupId): the VM\'s retention runs now under the mass-prune guard; the detail says what went and why', async () => {
    const admin = as('admin');
    const bad = await admin('POST', '/api/v1/vms/app-02/prune', { backupId: '2026-01-01-000000' });
    assert.equal(bad.status, 400, 'a point is not named: retention decides');
    assert.equal(bad.json.error.code, 'API_BAD_REQUEST');
    const dry = await admin('POST', '/api/v1/vms/app-02/prune', { dry_run: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.json));
    assert.deepEqual({ ...dry.json, detail: undefined }, { vm: 'app-02', dry_run: true, points: 0, prune: [], detail: undefined });
    assert.match(dry.json.detail, /nothing to prune/);
    const p = await admin('POST', '/api/v1/vms/app-02/prune', {});
    assert.equal(p.status, 202, JSON.stringify(p.json));
    assert.equal(p.json.backupId, undefined);
    const done = await finished(p.json.id);
    assert.equal(done.state, 'ok', done.detail);
    assert.match(done.detail, /nothing to prune/);
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    const body = doc.paths['/api/v1/vms/{vm}/prune'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(Object.keys(body.properties ?? {}), ['dry_run'], 'no backupId in the prune body');
    assert.match(doc.paths['/api/v1/vms/{vm}/prune'].post.summary, /retention/i);
  });

  test('a busy VM (its lock held) does not fail the action: it waits in phase lock, gives its slots back, can be cancelled, and runs once the lock is free', async () => {
    const op = as('operator');
    const admin = as('admin');
    await waitFor('no action in flight', async () => ((await op('GET', '/api/v1/actions')).json as any[]).every((x) => !['queued', 'running'].includes(x.state)), 120_000, 200);
    const before = await adhocMetrics();
    const lock = await acquireLock(join(d!.stateDir, 'locks'), 'app-02', 'the test holding app-02');
    let p: any;
    try {
      const a = await op('POST', '/api/v1/vms/app-02/backup', {});
      assert.equal(a.status, 202);
      const waiting = await waitFor('A waits for the lock', async () => {
        const x = (await op('GET', `/api/v1/actions/${a.json.id}`)).json;
        return x.state === 'running' && x.phase === 'lock' && /waiting for the test holding app-02/.test(x.detail ?? '') ? x : undefined;
      }, 90_000, 100).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
      assert.equal(waiting.finishedAt, undefined);
      // Its slots are given back while it waits: a backup of app-01 (same host, one job per host) runs meanwhile.
      const b = await op('POST', '/api/v1/vms/app-01/backup', {});
      await waitFor('B runs beside the waiting A', async () => ['running', 'failed', 'ok'].includes((await op('GET', `/api/v1/actions/${b.json.id}`)).json.state), 60_000, 50);
      const c = await op('POST', `/api/v1/actions/${a.json.id}/cancel`, {});
      assert.equal(c.status, 202, JSON.stringify(c.json));
      assert.equal(c.json.state, 'cancelled');
      assert.equal((await finished(a.json.id)).state, 'cancelled');
      await finished(b.json.id);
      // A retention prune of the busy VM waits too, and runs once the lock is released.
      p = (await admin('POST', '/api/v1/vms/app-02/prune', {})).json;
      await waitFor('the prune waits', async () => /waiting for the test holding app-02/.test((await op('GET', `/api/v1/actions/${p.id}`)).json.detail ?? ''), 60_000, 100);
    } finally { await lock.release(); }
    const pd = await finished(p.id);
    assert.equal(pd.state, 'ok', pd.detail);
    assert.match(pd.detail, /nothing to prune/);
    // Metrics: one count per action when it ends (ok/failed/cancelled) or is refused, never for accepted.
    const op403 = await op('POST', '/api/v1/vms/app-02/prune', {});
    assert.equal(op403.status, 403);
    const unknown = await op('POST', '/api/v1/vms/nope/backup', {});
    assert.equal(unknown.status, 404);
    const after = await adhocMetrics();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    assert.equal(delta('backup cancelled'), 1, JSON.stringify(after));
    assert.equal(delta('backup failed'), 1, JSON.stringify(after));
    assert.equal(delta('prune ok'), 1, JSON.stringify(after));
    assert.equal(delta('prune refused'), 1, JSON.stringify(after));
    assert.equal(delta('backup refused'), 1, JSON.stringify(after));
    assert.ok(!Object.keys(after).some((k) => k.endsWith(' accepted')), 'accepted is never counted');
  });

  test('SIGHUP re-reads the tokens file: a new token works; a bad file keeps the old tokens and logs an error', async () => {
    const original = await readFile(tokensFile, 'utf8');
    const r = await execa(process.execPath, [CLI, 'daemon', 'token', '--name', 't-late', '--role', 'viewer', '--json'], { env: { NO_COLOR: '1' } });
    const late = JSON.parse(r.stdout) as { token: string; line: string };
    try {
      assert.equal((await call('GET', '/api/v1/fleet', { token: late.token })).status, 401);
      await writeFile(tokensFile, `${original}${late.line}\n`, { mode: 0o600 });
      process.kill(d!.proc.pid!, 'SIGHUP');
      await waitFor('the new token accepted', async () => (await call('GET', '/api/v1/fleet', { token: late.token })).status === 200, 30_000, 100);
      assert.equal((await call('GET', '/api/v1/fleet', { token: tokens.viewer })).status, 200);
      await writeFile(tokensFile, `${original}not a token line\n`, { mode: 0o600 });
      process.kill(d!.proc.pid!, 'SIGHUP');
      await waitFor('the bad file logged', async () => /"level":50[^\n]*tokens[^\n]*kept|tokens[^\n]*kept[^\n]*"level":50/.test(d!.logs()), 30_000, 100)
        .catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-2000)}`); });
      assert.equal((await call('GET', '/api/v1/fleet', { token: late.token })).status, 200, 'the tokens of the last good file stay');
      assert.equal((await call('GET', '/api/v1/fleet', { token: tokens.admin })).status, 200);
      assert.ok(!d!.logs().includes(late.token));
    } finally {
      await writeFile(tokensFile, original, { mode: 0o600 });
    }
    // A web session signed in with the late token ends when the token leaves the file.
    const login = await fetch(`${d!.url}/ui/login`, { method: 'POST', redirect: 'manual', headers: { origin: d!.url, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(late.token)}` });
    assert.equal(login.status, 303);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const page = () => fetch(`${d!.url}/ui/`, { redirect: 'manual', headers: { cookie } });
    assert.equal((await page()).status, 200);
    const keep = (await fetch(`${d!.url}/ui/login`, { method: 'POST', redirect: 'manual', headers: { origin: d!.url, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(tokens.viewer)}` }));
    const keepCookie = (keep.headers.get('set-cookie') ?? '').split(';')[0]!;
    process.kill(d!.proc.pid!, 'SIGHUP');
    await waitFor('back to the original tokens', async () => (await call('GET', '/api/v1/fleet', { token: late.token })).status === 401, 30_000, 100);
    const after = await page();
    assert.equal(after.status, 303, 'the removed token\'s web session is gone');
    assert.equal(after.headers.get('location'), '/ui/login');
    assert.equal((await fetch(`${d!.url}/ui/`, { redirect: 'manual', headers: { cookie: keepCookie } })).status, 200, 'a kept token\'s session stays');
  });

  test('SIGTERM: a queued action and one waiting for a busy VM\'s lock are cancelled (audited as by the daemon), the running one finishes, exit 0', async () => {
    const op = as('operator');
    const lock = await acquireLock(join(d!.stateDir, 'locks'), 'app-02', 'the test holding app-02');
    let code: number | undefined;
    let w: any;
    let b: any;
    let a: any;
    try {
      w = await op('POST', '/api/v1/vms/app-02/backup', {});
      await waitFor('W waits for the lock', async () => /waiting for/.test((await op('GET', `/api/v1/actions/${w.json.id}`)).json.detail ?? ''), 60_000, 50);
      a = await op('POST', '/api/v1/vms/app-01/backup', {});
      await waitFor('A running', async () => (await op('GET', `/api/v1/actions/${a.json.id}`)).json.state === 'running', 60_000, 50);
      b = await op('POST', '/api/v1/vms/app-01/backup', {});
      assert.equal(b.json.state, 'queued');
      code = await d!.stop();
    } finally { await lock.release(); }
    assert.equal(code, 0, d!.logs().slice(-2000));
    const files = await readdir(join(d!.stateDir, 'audit'));
    const lines = (await Promise.all(files.map((f) => readFile(join(d!.stateDir, 'audit', f), 'utf8')))).join('').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(lines.filter((e) => e.action_id === b.json.id && e.act === 'backup').map((e) => `${e.by} ${e.result}`), ['api:t-operator accepted', 'daemon cancelled']);
    assert.deepEqual(lines.filter((e) => e.action_id === a.json.id && e.act === 'backup').map((e) => e.result), ['accepted', 'failed'], 'the running one finished before the exit');
    assert.deepEqual(lines.filter((e) => e.action_id === w.json.id && e.act === 'backup').map((e) => `${e.by} ${e.result}`), ['api:t-operator accepted', 'daemon cancelled'], 'the waiting one');
    assert.match(lines.find((e) => e.action_id === w.json.id && e.result === 'cancelled').detail, /waiting for the VM's lock/);
  });
});
