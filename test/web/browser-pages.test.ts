// Every console page in real headless Chromium over the in-memory service: sign in as operator,
// start a backup, watch the progress page follow the phases live (SSE + progress.js, no reload)
// to done, see today turn green; sign in as admin and walk the restore wizard; screenshots of each
// page at the end (the README's fleet and VM pictures come from here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Phase } from '../../src/ports/console.js';
import { FakeConsole, NOW } from './fake-console.js';
import { webApp } from './web-app.js';
import { chromiumOrSkip, keepForReadme, launch, until } from './browser-kit.js';

test('console pages in Chromium: operator backup with live progress, admin restore wizard, screenshots', { timeout: 120_000 }, async (t) => {
  if (!chromiumOrSkip(t)) return;
  const service = new FakeConsole();
  const web1 = service.statuses.find((s) => s.vm === 'web1')!;
  web1.history = web1.history.filter((h) => h.day !== NOW.slice(0, 10)); // no backup yet today
  const { app } = await webApp(service);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const b = await launch();
  const violations: string[] = [];
  try {
    const page = await b.newPage();
    page.on('console', (m) => { if (/Content Security Policy|Refused/.test(m.text())) violations.push(m.text()); });
    page.on('pageerror', (e) => violations.push(e.message));

    await page.goto(`${url}/ui/`);
    assert.equal(new URL(page.url()).pathname, '/ui/login', 'no session: the login form');
    const loginShot = await b.shot(page, 'login');
    await page.fill('#token', 'tok-operator');
    await Promise.all([page.waitForURL(`${url}/ui/`), page.click('button[type=submit]')]);
    const todayCell = page.locator('tr:has(a:text-is("web1")) td.cal').last();
    assert.equal(await todayCell.getAttribute('class'), 'cal cal-none');

    await page.click('a:text-is("web1")');
    assert.equal(await page.locator('button:text-is("Prune now")').count(), 0, 'operator: no prune');
    assert.equal(await page.locator('a:text-is("Restore…")').count(), 0, 'operator: no restore');
    await Promise.all([page.waitForURL(/\/ui\/actions\/a1$/), page.click('button:text-is("Back up now")')]);

    // The daemon's queue, played by the fake: phase by phase, copying in steps; progress.js follows without a reload.
    let reloads = 0;
    page.on('load', () => { reloads++; });
    const steps: [Phase, number | undefined][] = [['lock', undefined], ['pre-checks', undefined], ['snapshot', undefined], ['copying', 10], ['copying', 55], ['copying', 90], ['commit', undefined], ['verify', undefined], ['publish', undefined]];
    const a = service.action('a1')!;
    service.update(a, { state: 'running', phase: 'lock', startedAt: NOW });
    for (const [phase, percent] of steps) {
      service.update(a, { phase, ...(percent !== undefined ? { percent } : {}) });
      if (phase === 'copying' && percent === 55) {
        await until(async () => (await page.locator('#progress-text').textContent()) === 'copying 55%');
        assert.equal(reloads, 0, 'live update, not a refresh');
        assert.equal(await page.locator('#bar').getAttribute('value'), '55');
        await b.shot(page, 'action-progress');
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    web1.history.push({ day: NOW.slice(0, 10), outcome: 'ok' });
    service.update(a, { state: 'ok', phase: 'done', finishedAt: NOW, detail: 'backup 20261203T120000Z (3.0 GiB)', runId: 'run-web1-1' });
    await until(async () => (await page.locator('#state').textContent()) === 'ok' && (await page.locator('#progress').getAttribute('data-finished')) === '1');
    assert.match(await page.locator('#detail').innerText(), /backup 20261203T120000Z/);
    await b.shot(page, 'action-done');

    await page.goto(`${url}/ui/`);
    assert.equal(await todayCell.getAttribute('class'), 'cal cal-ok', 'today is green');
    const fleetShot = await b.shot(page, 'fleet');
    await page.goto(`${url}/ui/vms/web1`);
    const vmShot = await b.shot(page, 'vm');
    await page.goto(`${url}/ui/storage`);
    assert.match(await page.locator('#storage-alert').innerText(), /85% full/);
    await b.shot(page, 'storage');
    await page.click('button:text-is("Sign out")');
    assert.equal(new URL(page.url()).pathname, '/ui/login');

    await page.fill('#token', 'tok-admin');
    await Promise.all([page.waitForURL(`${url}/ui/`), page.click('button[type=submit]')]);
    await page.click('a:text-is("Restore")');
    await page.selectOption('select[name=vm]', 'web1');
    await Promise.all([page.waitForURL(/vm=web1/), page.click('button:text-is("Next")')]);
    await page.selectOption('select[name=backupId]', '20261202T100000Z');
    await page.selectOption('select[name=hypervisor]', 'hv2');
    await page.fill('input[name=name]', 'web1-copy');
    await page.check('input[name=network][value=none]');
    await b.shot(page, 'restore');
    await page.click('button:text-is("Review…")');
    assert.match(await page.locator('ol.steps-text').innerText(), /Define a new VM named web1-copy on hv2 with no network interface at all/);
    await b.shot(page, 'restore-confirm');
    await Promise.all([page.waitForURL(/\/ui\/actions\/a2$/), page.click('button:text-is("Restore")')]);
    assert.deepEqual(service.submitted.at(-1)?.req, { kind: 'restore', vm: 'web1', backupId: '20261202T100000Z', restore: { mode: 'new', network: 'none', hypervisor: 'hv2', name: 'web1-copy' } });
    assert.equal(service.submitted.at(-1)?.by.name, 'ada');

    assert.deepEqual(violations, [], 'no CSP violations or script errors');
    await keepForReadme(fleetShot, 'console-fleet');
    await keepForReadme(vmShot, 'console-vm');
    t.diagnostic(`screenshots in ${b.shots} (login: ${loginShot})`);
  } finally {
    await b.close();
    await app.close();
  }
});
