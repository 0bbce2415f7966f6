// The console's web pages through fastify.inject over an in-memory ConsoleService: sessions and
// redirects, the role matrix of the buttons, CSRF and Origin refusals, escaping of hostile texts,
// the security headers, the acts reaching the service with the session's principal, the wizard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CSP } from '../../src/adapters/console/web/security.js';
import type { Principal } from '../../src/ports/console.js';
import Fastify from 'fastify';
import { join } from 'node:path';
import { webRoutes } from '../../src/adapters/console/web/routes.js';
import { SESSION_TTL_MS, SessionStore } from '../../src/adapters/console/web/sessions.js';
import { ROOT } from '../helpers/paths.js';
import { FakeConsole, HOSTILE, NOW, TOKENS } from './fake-console.js';
import { HOST, login, ORIGIN, post, webApp } from './web-app.js';

const get = (app: Awaited<ReturnType<typeof webApp>>['app'], url: string, cookie?: string) => app.inject({ method: 'GET', url, headers: { host: HOST, ...(cookie ? { cookie } : {}) } });

test('without a session every page redirects to the login form; a bad token gets 401; a good one a hardened session cookie', async () => {
  const logins: Principal[] = [];
  const { app } = await webApp(undefined, logins);
  for (const url of ['/ui/', '/ui/vms/web1', '/ui/storage', '/ui/restore', '/ui/actions/a1', '/ui/events']) {
    const r = await get(app, url);
    assert.equal(r.statusCode, 303, url);
    assert.equal(r.headers.location, '/ui/login');
  }
  const forged = await get(app, '/ui/', 'vmb_session=forged');
  assert.equal(forged.statusCode, 303);
  const form = await get(app, '/ui/login');
  assert.equal(form.statusCode, 200);
  assert.match(form.body, /name="token"/);
  const bad = await app.inject({ method: 'POST', url: '/ui/login', headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'token=nope' });
  assert.equal(bad.statusCode, 401);
  assert.equal(bad.headers['set-cookie'], undefined);
  const good = await app.inject({ method: 'POST', url: '/ui/login', headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'token=tok-operator' });
  assert.equal(good.statusCode, 303);
  const cookie = String(good.headers['set-cookie']);
  assert.match(cookie, /^vmb_session=[A-Za-z0-9_-]{40,};/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.doesNotMatch(cookie, /tok-operator/);
  assert.deepEqual(logins, [{ name: 'otto', role: 'operator' }]);
  const crossSite = await app.inject({ method: 'POST', url: '/ui/login', headers: { host: HOST, origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, payload: 'token=tok-operator' });
  assert.equal(crossSite.statusCode, 403);
  await app.close();
});

test('every page carries the strict CSP, nosniff and no-referrer, and has no inline script or style', async () => {
  const { app } = await webApp();
  const { cookie } = await login(app, 'tok-admin');
  for (const url of ['/ui/login', '/ui/', '/ui/vms/web1', '/ui/storage', '/ui/restore', '/ui/restore?vm=web1', '/ui/vms/nope']) {
    const r = await get(app, url, cookie);
    assert.equal(r.headers['content-security-policy'], CSP, url);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', url);
    assert.equal(r.headers['referrer-policy'], 'no-referrer', url);
    assert.doesNotMatch(r.body, /<script(?![^>]*\bsrc=)/, `${url}: inline script`);
    assert.doesNotMatch(r.body, /<style|\sstyle=/, `${url}: inline style`);
  }
  assert.equal((await get(app, '/ui/vms/nope', cookie)).statusCode, 404);
  const css = await get(app, '/ui/static/console.css');
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers['content-type']), /text\/css/);
  assert.equal((await get(app, '/ui/static/..%2Fvm.hbs')).statusCode, 404);
  await app.close();
});

test('role matrix: viewer sees no buttons, operator no prune/restore, admin everything', async () => {
  const { app } = await webApp();
  const buttons = async (token: string): Promise<string[]> => {
    const { cookie } = await login(app, token);
    const body = (await get(app, '/ui/vms/web1', cookie)).body;
    const found = [...body.matchAll(/name="kind" value="([a-z-]+)"/g)].map((m) => m[1]!);
    if (body.includes('action="/ui/vms/web1/pause"')) found.push('pause');
    if (/href="\/ui\/restore\?vm(=|&#x3D;)web1"/.test(body)) found.push('restore');
    return found.sort();
  };
  assert.deepEqual(await buttons('tok-viewer'), []);
  assert.deepEqual(await buttons('tok-operator'), ['backup', 'pause', 'test-restore', 'verify']);
  assert.deepEqual(await buttons('tok-admin'), ['backup', 'pause', 'prune', 'restore', 'test-restore', 'verify']);
  const viewer = await login(app, 'tok-viewer');
  assert.doesNotMatch((await get(app, '/ui/', viewer.cookie)).body, /href="\/ui\/restore"/);
  await app.close();
});

test('acts: the role is checked (403 page), the session principal reaches the service, CSRF and Origin are required', async () => {
  const { app, service } = await webApp();
  const viewer = await login(app, 'tok-viewer');
  assert.equal((await post(app, '/ui/vms/web1/act', viewer, { kind: 'backup' })).statusCode, 403);
  assert.equal((await post(app, '/ui/vms/web1/pause', viewer, { until: '2d', reason: 'x' })).statusCode, 403);
  const op = await login(app, 'tok-operator');
  assert.equal((await post(app, '/ui/vms/web1/act', op, { kind: 'prune' })).statusCode, 403);
  assert.equal((await post(app, '/ui/restore', op, { vm: 'web1' })).statusCode, 403);
  assert.equal((await get(app, '/ui/restore', op.cookie)).statusCode, 403);
  assert.equal(service.submitted.length, 0);

  assert.equal((await post(app, '/ui/vms/web1/act', { cookie: op.cookie }, { kind: 'backup' })).statusCode, 403, 'no CSRF token');
  assert.equal((await post(app, '/ui/vms/web1/act', { ...op, csrf: 'x'.repeat(op.csrf.length) }, { kind: 'backup' })).statusCode, 403, 'wrong CSRF token');
  assert.equal((await post(app, '/ui/vms/web1/act', op, { kind: 'backup' }, { origin: 'http://evil.example' })).statusCode, 403, 'cross-site Origin');
  assert.equal((await post(app, '/ui/vms/web1/act', op, { kind: 'backup' }, {})).statusCode, 403, 'no Origin nor Referer');
  assert.equal((await post(app, '/ui/vms/web1/act', op, { kind: 'backup' }, { origin: 'null', 'sec-fetch-site': 'cross-site' })).statusCode, 403, 'Origin null from another site');
  assert.equal((await post(app, '/ui/vms/web1/act', op, { kind: 'backup' }, { origin: 'null' })).statusCode, 403, 'Origin null, nothing else');
  const other = await login(app, 'tok-admin');
  assert.equal((await post(app, '/ui/vms/web1/act', { cookie: op.cookie, csrf: other.csrf }, { kind: 'backup' })).statusCode, 403, "another session's token");
  assert.equal(service.submitted.length, 0);

  const ok = await post(app, '/ui/vms/web1/act', op, { kind: 'backup' }, { referer: `${ORIGIN}/ui/vms/web1` });
  assert.equal(ok.statusCode, 303);
  assert.equal(ok.headers.location, '/ui/actions/a1');
  assert.deepEqual(service.submitted[0], { req: { kind: 'backup', vm: 'web1' }, by: { name: 'otto', role: 'operator' } });
  const progress = await get(app, '/ui/actions/a1', op.cookie);
  assert.match(progress.body, /<noscript><meta http-equiv="refresh" content="2"><\/noscript>/);
  assert.match(progress.body, /src="\/ui\/static\/progress.js"/);
  assert.equal((await post(app, '/ui/vms/nope/act', op, { kind: 'backup' })).statusCode, 404);

  assert.equal((await post(app, '/ui/vms/web1/pause', op, { until: '2d', reason: 'maintenance' })).statusCode, 303);
  assert.equal(service.pauses.web1?.by, 'otto');
  assert.match((await get(app, '/ui/vms/web1', op.cookie)).body, /Paused until 2026-12-05 12:00 by otto: maintenance/);
  assert.equal((await post(app, '/ui/vms/web1/resume', op, {})).statusCode, 303);
  assert.equal(service.pauses.web1, undefined);

  assert.equal((await post(app, '/ui/logout', op, {})).statusCode, 303);
  assert.equal((await get(app, '/ui/', op.cookie)).statusCode, 303, 'the session is gone after sign-out');
  await app.close();
});

test('hostile VM names, reasons, keep reasons and step details are escaped everywhere', async () => {
  const { app } = await webApp();
  const { cookie } = await login(app, 'tok-admin');
  const pages = [await get(app, '/ui/', cookie), await get(app, `/ui/vms/${encodeURIComponent(HOSTILE)}`, cookie), await get(app, '/ui/storage', cookie), await get(app, `/ui/restore?vm=${encodeURIComponent(HOSTILE)}`, cookie)];
  for (const r of pages) {
    assert.equal(r.statusCode, 200, r.body.slice(0, 300));
    assert.doesNotMatch(r.body, /<script>alert/);
    assert.match(r.body, /&lt;script&gt;alert\(/);
  }
  assert.match(pages[1]!.body, /action="\/ui\/vms\/%3Cscript%3Ealert/);
  await app.close();
});

test('the fleet shows state, last backup, next due and the 30-day calendar in README colours', async () => {
  const { app } = await webApp();
  const { cookie } = await login(app, 'tok-viewer');
  const body = (await get(app, '/ui/', cookie)).body;
  const row = (vm: string): string => body.slice(body.indexOf(`>${vm}</a>`), body.indexOf('</tr>', body.indexOf(`>${vm}</a>`)));
  assert.match(row('web1'), /st-ok" title="[^"]*">Ready</);
  assert.match(row('db1'), /st-bad" title="[^"]*">failed</);
  assert.match(row('mail1'), /st-warn" title="[^"]*">overdue</);
  assert.equal((row('web1').match(/class="cal cal-/g) ?? []).length, 30);
  assert.match(row('web1'), /title="2026-12-02: succeeded with warnings"/);
  assert.match(row('db1'), /cal cal-failed" title="2026-12-03: backup failed"/);
  assert.match(row('web1'), /2026-12-04 02:00/);
  await app.close();
});

test('restore wizard: checks, a confirmation saying what will happen, in place needs the name typed', async () => {
  const { app, service } = await webApp();
  const admin = await login(app, 'tok-admin');
  const step2 = (await get(app, '/ui/restore?vm=web1', admin.cookie)).body;
  assert.match(step2, /option value="20261203T100000Z"/);
  const bad = await post(app, '/ui/restore/confirm', admin, { vm: 'web1', backupId: 'nope', hypervisor: 'hv9', mode: 'new', name: 'web1', network: 'none' });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.body, /pick a restore point/);
  assert.match(bad.body, /pick a target hypervisor/);
  const fields = { vm: 'web1', backupId: '20261202T100000Z', hypervisor: 'hv2', mode: 'new', name: 'web1-copy', network: 'none' };
  const confirm = await post(app, '/ui/restore/confirm', admin, fields);
  assert.equal(confirm.statusCode, 200);
  assert.match(confirm.body, /Define a new VM named web1-copy on hv2 with no network interface at all/);
  const done = await post(app, '/ui/restore', admin, fields);
  assert.equal(done.statusCode, 303);
  assert.deepEqual(service.submitted.at(-1), { req: { kind: 'restore', vm: 'web1', backupId: '20261202T100000Z', restore: { mode: 'new', network: 'none', hypervisor: 'hv2', name: 'web1-copy' } }, by: { name: 'ada', role: 'admin' } });
  const inPlace = { ...fields, mode: 'in-place', hypervisor: 'hv1', name: '' };
  assert.match((await post(app, '/ui/restore/confirm', admin, inPlace)).body, /Type the VM&#x27;s name|Type the VM's name/);
  assert.equal((await post(app, '/ui/restore', admin, { ...inPlace, confirm: 'web' })).statusCode, 400);
  assert.equal(service.submitted.length, 1);
  assert.equal((await post(app, '/ui/restore', admin, { ...inPlace, confirm: 'web1' })).statusCode, 303);
  assert.equal(service.submitted.at(-1)?.req.restore?.mode, 'in-place');
  await app.close();
});

test('storage: the 80% banner and the SVG charts', async () => {
  const { app } = await webApp();
  const { cookie } = await login(app, 'tok-viewer');
  const body = (await get(app, '/ui/storage', cookie)).body;
  assert.match(body, /id="storage-alert">Backup storage is 85% full \(alert at 80%\)/);
  assert.equal((body.match(/<svg /g) ?? []).length, 3);
  assert.match(body, /class="chart-line"/);
  await app.close();
});

test('sessions expire after their lifetime, the store is capped (oldest out), and a clock in a time zone shows local times', async () => {
  let clock = 0;
  const store = new SessionStore(() => clock, 1000, 2);
  const a = store.create({ name: 'a', role: 'viewer' });
  const b = store.create({ name: 'b', role: 'viewer' });
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.csrf, b.csrf);
  store.create({ name: 'c', role: 'viewer' });
  assert.equal(store.size, 2);
  assert.equal(store.get(a.id), undefined, 'the oldest went first');
  assert.equal(store.get(b.id)?.principal.name, 'b');
  clock = 1000;
  assert.equal(store.get(b.id), undefined, 'expired');

  let now = 0;
  const sessions = new SessionStore(() => now);
  const service = new FakeConsole();
  const app = Fastify();
  await webRoutes(app, { service, authenticate: (tok) => TOKENS[tok], templatesDir: join(ROOT, 'templates'), now: () => NOW, sessions, timeZone: () => 'Asia/Tokyo' });
  const { cookie } = await login(app, 'tok-viewer');
  const page = await get(app, '/ui/', cookie);
  assert.match(page.body, /2026-12-04 11:00/, 'next due 02:00Z is 11:00 in Tokyo');
  assert.match(page.body, /days in Asia\/Tokyo/);
  now = SESSION_TTL_MS;
  assert.equal((await get(app, '/ui/', cookie)).statusCode, 303, 'after 12 h: back to the login form');
  await app.close();
});

test('an unknown /ui path gets a small HTML 404 page with the CSP headers, not fastify\'s JSON (signed in or not)', async () => {
  const { app } = await webApp();
  const { cookie } = await login(app, 'tok-viewer');
  for (const url of ['/ui/nope', '/ui/vms/web1/nope/deeper', '/ui/vms']) {
    const r = await get(app, url, cookie);
    assert.equal(r.statusCode, 404, `${url}: ${r.body}`);
    assert.match(String(r.headers['content-type']), /^text\/html/, url);
    assert.equal(r.headers['content-security-policy'], CSP, url);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', url);
    assert.match(r.body, /<h1>[^<]*404|Not found/i, url);
    assert.doesNotMatch(r.body, /"statusCode"|"error":/, url);
  }
  const anon = await get(app, '/ui/nope');
  assert.ok(anon.statusCode === 303 || anon.statusCode === 404, String(anon.statusCode));
  assert.doesNotMatch(anon.body, /"statusCode"/);
  await app.close();
});

test('the prune button runs the VM\'s retention: no point is named (a posted backupId is dropped), and the page says so', async () => {
  const { app, service } = await webApp();
  const admin = await login(app, 'tok-admin');
  const page = await get(app, '/ui/vms/web1', admin.cookie);
  const form = /<form[^>]*action="\/ui\/vms\/web1\/act"[^>]*>(?:(?!<\/form>)[\s\S])*value="prune"(?:(?!<\/form>)[\s\S])*<\/form>/.exec(page.body)?.[0] ?? '';
  assert.ok(form, 'a prune form');
  assert.doesNotMatch(form, /name="backupId"/);
  assert.match(form, /retention/i);
  const r = await post(app, '/ui/vms/web1/act', admin, { kind: 'prune', backupId: '2026-01-01-000000' });
  assert.equal(r.statusCode, 303);
  assert.deepEqual(service.submitted.at(-1)?.req, { kind: 'prune', vm: 'web1' });
  await app.close();
});

test('the VM page shows the test-restore screenshot as an <img> from a session-authenticated /ui route (image/png, CSP headers)', async () => {
  const { app, service } = await webApp();
  const { cookie } = await login(app, 'tok-viewer');
  const page = await get(app, '/ui/vms/web1', cookie);
  assert.match(page.body, /<img [^>]*src="\/ui\/vms\/web1\/test-restore\.png"[^>]*alt="[^"]+"/);
  const png = await get(app, '/ui/vms/web1/test-restore.png', cookie);
  assert.equal(png.statusCode, 200);
  assert.equal(png.headers['content-type'], 'image/png');
  assert.equal(png.headers['content-security-policy'], CSP);
  assert.deepEqual(png.rawPayload, service.screenshots.web1);
  const anon = await get(app, '/ui/vms/web1/test-restore.png');
  assert.equal(anon.statusCode, 303, 'no session: the login form, not the picture');
  const none = await get(app, '/ui/vms/db1/test-restore.png', cookie);
  assert.equal(none.statusCode, 404);
  assert.match(String(none.headers['content-type']), /^text\/html/);
  await app.close();
});

test('the VM page shows each run\'s log lines (local time, level, message and fields), escaped', async () => {
  const { app } = await webApp();
  const { cookie } = await login(app, 'tok-viewer');
  const page = await get(app, '/ui/vms/web1', cookie);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<pre class="runlog"><span class="lv-info">10:00:02 info<\/span> step done step&#x3D;snapshot ms&#x3D;1800/);
  assert.match(page.body, /lv-warn">10:01:32 warn<\/span> guest agent did not answer/);
  const hostile = await get(app, `/ui/vms/${encodeURIComponent(HOSTILE)}`, cookie);
  assert.match(hostile.body, /lv-error">10:00:00 error<\/span> &lt;script&gt;alert/);
  assert.doesNotMatch(hostile.body, /<script>alert/);
  await app.close();
});
