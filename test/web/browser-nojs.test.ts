// The console with JavaScript turned off in real headless Chromium over the in-memory service: the
// pages must work by plain links and form posts (sign in, back up, pause, resume, sign out, the
// restore wizard), and an action's progress page must reach done through its <noscript> refresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Phase } from '../../src/ports/console.js';
import { FakeConsole, NOW } from './fake-console.js';
import { webApp } from './web-app.js';
import { chromiumOrSkip, launchWithoutScript, until } from './browser-kit.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clicks a link or a form's button and waits for the page it leads to (a real navigation, even to
 *  the same address after a 303, as pause and resume do). */
async function submit(page: Page, button: string, url: RegExp | string): Promise<void> {
  const committed = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 10_000 });
  await page.click(button);
  await committed;
  await page.waitForURL(url);
  await page.waitForLoadState('load');
}

test('console pages in Chromium without JavaScript: operator backup with refresh-driven progress, pause, resume, admin restore wizard', { timeout: 120_000 }, async (t) => {
  if (!chromiumOrSkip(t)) return;
  const service = new FakeConsole();
  const web1 = service.statuses.find((s) => s.vm === 'web1')!;
  web1.history = web1.history.filter((h) => h.day !== NOW.slice(0, 10)); // no backup yet today
  const { app } = await webApp(service);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const b = await launchWithoutScript();
  const problems: string[] = [];
  const seen: string[] = [];
  try {
    const page = await b.newPage();
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => seen.push(new URL(r.url()).pathname));
    page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`); });

    await page.goto(`${url}/ui/`);
    assert.equal(new URL(page.url()).pathname, '/ui/login', 'no session: the login form');
    await b.shot(page, 'nojs-login');
    await page.fill('#token', 'tok-operator');
    await submit(page, 'button[type=submit]', `${url}/ui/`);
    const todayCell = page.locator('tr:has(a:text-is("web1")) td.cal').last();
    assert.equal(await page.locator('tr:has(a:text-is("web1")) td.cal').count(), 30, 'the 30-day calendar');
    assert.equal(await todayCell.getAttribute('class'), 'cal cal-none');
    assert.match(await page.locator('header .who').innerText(), /otto \(operator\)/);
    await b.shot(page, 'nojs-fleet');

    await submit(page, 'a:text-is("web1")', `${url}/ui/vms/web1`);
    await b.shot(page, 'nojs-vm');
    await submit(page, 'button:text-is("Back up now")', /\/ui\/actions\/a1$/);
    const a = service.action('a1')!;
    assert.equal(a.kind, 'backup');
    assert.equal(a.by, 'otto');

    // The daemon's queue, played by the fake on its own clock: the phases over ~5 s, while the page
    // (no script) only learns of them by its <noscript> meta refresh every 2 s.
    const texts: string[] = [];
    const onLoad = () => { void page.locator('#progress-text').textContent().then((x) => { if (x) texts.push(x); }, () => undefined); };
    page.on('load', onLoad);
    const steps: [Phase, number | undefined][] = [['lock', undefined], ['pre-checks', undefined], ['snapshot', undefined], ['copying', 10], ['copying', 55], ['copying', 90], ['commit', undefined], ['verify', undefined], ['publish', undefined]];
    const moved = (async () => {
      service.update(a, { state: 'running', phase: 'lock', startedAt: NOW });
      for (const [phase, percent] of steps) {
        service.update(a, { phase, ...(percent !== undefined ? { percent } : {}) });
        await sleep(550);
      }
      web1.history.push({ day: NOW.slice(0, 10), outcome: 'ok' });
      service.update(a, { state: 'ok', phase: 'done', finishedAt: NOW, detail: 'backup 20261203T120000Z (3.0 GiB)', runId: 'run-web1-1' });
    })();
    await b.shot(page, 'nojs-action-queued');
    await until(async () => (await page.locator('#state').textContent()) === 'running', 6_000);
    await b.shot(page, 'nojs-action-progress');
    await moved;
    await until(async () => (await page.locator('#state').textContent()) === 'ok', 8_000);
    page.off('load', onLoad);
    assert.equal(await page.locator('#progress').getAttribute('data-finished'), '1');
    assert.equal(await page.locator('#bar').getAttribute('value'), '100');
    assert.equal(await page.locator('#phases li.ph-done').count(), 9, 'every phase done, up to "done"');
    assert.match(await page.locator('#detail').innerText(), /backup 20261203T120000Z/);
    assert.ok(texts.length >= 2, `the page refreshed itself more than once (saw ${JSON.stringify(texts)})`);
    assert.ok(texts.some((x) => x !== 'queued' && x !== texts.at(-1)), `an intermediate phase was shown by a refresh (saw ${JSON.stringify(texts)})`);
    assert.equal(seen.filter((p) => p === '/ui/events').length, 0, 'no progress stream without script');
    await b.shot(page, 'nojs-action-done');
    const loadsAfterDone = seen.filter((p) => p === '/ui/actions/a1').length;
    await sleep(2_600);
    assert.equal(seen.filter((p) => p === '/ui/actions/a1').length, loadsAfterDone, 'a finished action stops refreshing');

    await submit(page, 'a:text-is("web1")', `${url}/ui/vms/web1`);
    await submit(page, 'header a:text-is("Fleet")', `${url}/ui/`);
    assert.equal(await todayCell.getAttribute('class'), 'cal cal-ok', 'today is green');

    await submit(page, 'a:text-is("web1")', `${url}/ui/vms/web1`);
    await page.fill('input[name=until]', '2d');
    await page.fill('input[name=reason]', 'disk swap on hv1');
    await submit(page, 'button:text-is("Pause")', `${url}/ui/vms/web1`);
    assert.deepEqual({ ...service.pauses.web1, until: undefined }, { vm: 'web1', until: undefined, reason: 'disk swap on hv1', by: 'otto', at: NOW });
    assert.match(await page.locator('p.banner.warn:has-text("Paused until")').innerText(), /Paused until .+ by otto: disk swap on hv1/);
    assert.equal(await page.locator('input[name=until]').count(), 0, 'paused: Resume instead of the pause form');
    await b.shot(page, 'nojs-vm-paused');
    await submit(page, 'button:text-is("Resume")', `${url}/ui/vms/web1`);
    assert.equal(service.pauses.web1, undefined);
    assert.equal(await page.locator('p.banner.warn:has-text("Paused until")').count(), 0);
    assert.equal(await page.locator('input[name=until]').count(), 1, 'resumed: the pause form again');
    await submit(page, 'button:text-is("Sign out")', `${url}/ui/login`);
    await page.goto(`${url}/ui/vms/web1`);
    assert.equal(new URL(page.url()).pathname, '/ui/login', 'signed out: the session is gone');

    await page.fill('#token', 'tok-admin');
    await submit(page, 'button[type=submit]', `${url}/ui/`);
    await submit(page, 'header a:text-is("Restore")', `${url}/ui/restore`);
    await b.shot(page, 'nojs-restore-step1');
    await page.selectOption('select[name=vm]', 'web1');
    await submit(page, 'button:text-is("Next")', /\/ui\/restore\?vm=web1$/);
    await page.selectOption('select[name=backupId]', '20261202T100000Z');
    await page.selectOption('select[name=hypervisor]', 'hv2');
    await page.check('input[name=mode][value=new]');
    await page.fill('input[name=name]', 'web1-copy');
    await page.check('input[name=network][value=none]');
    await b.shot(page, 'nojs-restore');
    await submit(page, 'button:text-is("Review…")', `${url}/ui/restore/confirm`);
    assert.match(await page.locator('ol.steps-text').innerText(), /Define a new VM named web1-copy on hv2 with no network interface at all/);
    await b.shot(page, 'nojs-restore-confirm');
    await submit(page, 'main button:text-is("Restore")', /\/ui\/actions\/a2$/);
    assert.deepEqual(service.submitted.at(-1)?.req, { kind: 'restore', vm: 'web1', backupId: '20261202T100000Z', restore: { mode: 'new', network: 'none', hypervisor: 'hv2', name: 'web1-copy' } });
    assert.equal(service.submitted.at(-1)?.by.name, 'ada');
    assert.equal(await page.locator('#state').textContent(), 'queued');
    await b.shot(page, 'nojs-restore-action');
    await submit(page, 'button:text-is("Sign out")', `${url}/ui/login`);

    assert.deepEqual(problems, [], 'no script errors, no refused requests');
    t.diagnostic(`screenshots in ${b.shots}`);
  } finally {
    await b.close();
    await app.close();
  }
});
