// The console end to end: a real daemon (API tokens file, the lab's libvirt) and real headless
// Chromium. An operator signs in, backs up a scratch lab VM from its page, watches the progress page
// reach done and the day turn green; an admin restores that point as a new VM with no network,
// checked with virsh (the domain exists, no interface), then everything is removed. Screenshots of
// every page at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { labEnv, labOrSkip } from '../helpers/lab.js';
import { makeRepo } from '../helpers/git-repo.js';
import { startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';
import { vmbackup } from '../helpers/cli.js';
import { defineScratchVm, scratchVmPolicy, sh, virsh } from '../helpers/faults.js';
import { labPolicy } from '../lab/policy-repo.js';
import { chromiumOrSkip, launch, type Browser } from './browser-kit.js';
import type { Page } from 'playwright-core';

const NAME = `h3web-${process.pid}`;
const RESTORED = `h3web-r-${process.pid}`;

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/ui/login`);
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(`${url}/ui/`), page.click('button[type=submit]')]);
}

/** Waits on the action page until the action is finished (progress.js reloads it then); returns its state. */
async function finished(page: Page, ms: number): Promise<string> {
  await waitFor('the action to finish', async () => (await page.locator('#progress').getAttribute('data-finished').catch(() => null)) === '1', ms, 500);
  return (await page.locator('#state').textContent()) ?? '';
}

test('web console on the daemon: operator backs up a lab VM, admin restores it as a new VM with no network', { timeout: 600_000 }, async (t) => {
  const lab = labOrSkip(t);
  if (!lab || !chromiumOrSkip(t)) return;
  const dir = join('/var/tmp', `${NAME}-${Date.now().toString(36)}`);
  await mkdir(dir, { recursive: true });
  const image = join(dir, `${NAME}.qcow2`);
  for (const argv of [['qemu-img', 'create', '-q', '-f', 'qcow2', image, '256M'], ['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xab 0 4M', image]]) assert.equal((await sh(argv)).code, 0);
  const vm = await defineScratchVm(lab, NAME, image, { dir });
  const env = await labEnv(lab, { isolate: true });
  let d: DaemonProc | undefined;
  let b: Browser | undefined;
  let repoCleanup: (() => Promise<void>) | undefined;
  try {
    // Scheduled and catch-up backups wait for a window hours away: the only backup is the operator's.
    const hour = String((new Date().getUTCHours() + 8) % 24).padStart(2, '0');
    const policy = labPolicy(lab, { controlDir: join(env.root, 'ssh'), storageRoot: env.storageDir, remoteStorageRoot: join(lab.storage.remoteDir, env.storageDir.slice(lab.storage.dir.length + 1)) });
    (policy.settings as Record<string, unknown>).time_zone = 'UTC';
    policy.policies = [{ name: 'h3web-later', window: { start: `${hour}:00`, duration: '1h' } }];
    policy.vms = [scratchVmPolicy(NAME, { policy: 'h3web-later' })];
    const src = join(env.root, 'seed');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'lab.yaml'), stringify(policy));
    const repo = await makeRepo(src);
    repoCleanup = repo.cleanup;

    const tokens: Record<string, string> = {};
    const lines: string[] = [];
    for (const [name, role] of [['otto', 'operator'], ['ada', 'admin']] as const) {
      const r = await vmbackup(['daemon', 'token', '--name', name, '--role', role, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout) as { token: string; line: string };
      tokens[role] = j.token;
      lines.push(j.line);
    }
    const tokensFile = join(env.root, 'tokens');
    await writeFile(tokensFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    d = await startDaemon(repo.bare, env.stateDir, ['--api-tokens', tokensFile]);
    await waitFor('readyz', async () => (await fetch(`${d!.url}/readyz`)).status === 200, 60_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-4000)}`); });

    b = await launch();
    const page = await b.newPage();
    const url = d.url;
    await signIn(page, url, tokens.operator!);
    const today = page.locator(`tr:has(a:text-is("${NAME}")) td.cal`).last();
    assert.equal(await today.getAttribute('class'), 'cal cal-none', 'no backup yet today');

    await page.click(`a:text-is("${NAME}")`);
    await Promise.all([page.waitForURL(/\/ui\/actions\/[^/]+$/), page.click('button:text-is("Back up now")')]);
    const state = await finished(page, 240_000);
    assert.equal(state, 'ok', `${await page.locator('#detail').textContent()}\n${d.logs().slice(-3000)}`);
    await b.shot(page, 'e2e-action-backup');

    // The calendar comes from the status the daemon rebuilds after a run (a reconcile: SIGHUP asks for one now).
    await waitFor('today green in the calendar', async () => {
      await page.goto(`${url}/ui/`);
      if ((await today.getAttribute('class')) === 'cal cal-ok') return true;
      d!.proc.kill('SIGHUP');
      return false;
    }, 120_000, 2000);
    await b.shot(page, 'e2e-fleet');
    await page.click('button:text-is("Sign out")');

    await signIn(page, url, tokens.admin!);
    await page.goto(`${url}/ui/restore?vm=${encodeURIComponent(NAME)}`);
    assert.ok(await page.locator('select[name=backupId] option').count() >= 1);
    await page.selectOption('select[name=hypervisor]', 'local');
    await page.fill('input[name=name]', RESTORED);
    await page.check('input[name=mode][value=new]');
    await page.check('input[name=network][value=none]');
    await b.shot(page, 'e2e-restore');
    await page.click('button:text-is("Review…")');
    assert.match(await page.locator('ol.steps-text').innerText(), new RegExp(`Define a new VM named ${RESTORED} on local with no network interface at all`));
    await b.shot(page, 'e2e-restore-confirm');
    await Promise.all([page.waitForURL(/\/ui\/actions\/[^/]+$/), page.click('button:text-is("Restore")')]);
    assert.equal(await finished(page, 240_000), 'ok', `${await page.locator('#detail').textContent()}\n${d.logs().slice(-3000)}`);
    await b.shot(page, 'e2e-action-restore');

    const info = await virsh(lab, 'local', ['dominfo', '--domain', RESTORED]);
    assert.equal(info.code, 0, `the restored domain exists: ${info.stderr}`);
    const xml = (await virsh(lab, 'local', ['dumpxml', '--domain', RESTORED])).stdout;
    assert.doesNotMatch(xml, /<interface\b/, 'network none: no interface');
    assert.equal((await virsh(lab, 'local', ['domiflist', '--domain', RESTORED])).stdout.split('\n').filter((l) => /^\s*\S+\s+\S+\s+\S+/.test(l) && !/^\s*Interface/.test(l) && !/^-+$/.test(l.trim())).length, 0);

    for (const [path, name] of [['/ui/', 'e2e-fleet-admin'], [`/ui/vms/${encodeURIComponent(NAME)}`, 'e2e-vm'], ['/ui/storage', 'e2e-storage']] as const) {
      await page.goto(`${url}${path}`);
      await b.shot(page, name);
    }
    t.diagnostic(`screenshots in ${b.shots}`);
  } finally {
    await b?.close().catch(() => undefined);
    await d?.stop().catch(() => undefined);
    await removeRestored(lab);
    await vm.remove();
    await rm(dir, { recursive: true, force: true });
    await repoCleanup?.();
    await env.cleanup();
  }
});

/** The restored VM and the disks it was given (only paths that carry its name). */
async function removeRestored(lab: NonNullable<ReturnType<typeof labOrSkip>>): Promise<void> {
  const blk = await virsh(lab, 'local', ['domblklist', '--domain', RESTORED, '--details']);
  const paths = blk.code === 0 ? blk.stdout.split('\n').map((l) => l.trim().split(/\s+/)[3]).filter((p): p is string => !!p && p.startsWith('/') && p.includes(RESTORED)) : [];
  await virsh(lab, 'local', ['destroy', '--domain', RESTORED]);
  await virsh(lab, 'local', ['undefine', '--domain', RESTORED, '--nvram']);
  await virsh(lab, 'local', ['undefine', '--domain', RESTORED]);
  for (const p of paths) await rm(p, { force: true });
}
