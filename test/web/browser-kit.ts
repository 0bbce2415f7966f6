// Headless Debian Chromium driven by playwright-core for the console's browser tests: launched
// with a fresh profile, screenshots into a directory (VMBACKUP_SCREENSHOT_DIR, else the test's
// temp dir), and the README's into docs/screenshots/ only with VMBACKUP_UPDATE_SCREENSHOTS=1.
import type { TestContext } from 'node:test';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../helpers/paths.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The browser, or a skip (a failure with CI=true) when Debian's chromium is not installed. */
export function chromiumOrSkip(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${CHROMIUM} is missing (apt-get install chromium; test/setup.sh installs it)`);
  t.skip(`${CHROMIUM} is missing`);
  return false;
}

export interface Browser { context: BrowserContext; shots: string; newPage: () => Promise<Page>; shot: (page: Page, name: string) => Promise<string>; close: () => Promise<void> }

export async function launch(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'vmb-chromium-'));
  const shots = process.env.VMBACKUP_SCREENSHOT_DIR ?? join(profile, 'screenshots');
  await mkdir(shots, { recursive: true });
  const context = await chromium.launchPersistentContext(join(profile, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 } });
  return {
    context, shots,
    newPage: () => context.newPage(),
    shot: async (page, name) => { const file = join(shots, `${name}.png`); await page.screenshot({ path: file, fullPage: true }); return file; },
    close: async () => { await context.close(); await rm(join(profile, 'profile'), { recursive: true, force: true }); }, // the screenshots stay
  };
}

/** README screenshots (docs/screenshots/<name>.png), only when asked to refresh them. */
export async function keepForReadme(file: string, name: string): Promise<void> {
  if (process.env.VMBACKUP_UPDATE_SCREENSHOTS !== '1') return;
  await mkdir(join(ROOT, 'docs', 'screenshots'), { recursive: true });
  await copyFile(file, join(ROOT, 'docs', 'screenshots', `${name}.png`));
}

/** The same browser with JavaScript turned off in the context (the console must work without it). */
export async function launchWithoutScript(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'vmb-chromium-nojs-'));
  const shots = process.env.VMBACKUP_SCREENSHOT_DIR ?? join(profile, 'screenshots');
  await mkdir(shots, { recursive: true });
  const context = await chromium.launchPersistentContext(join(profile, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 }, javaScriptEnabled: false });
  return {
    context, shots,
    newPage: () => context.newPage(),
    shot: async (page, name) => { const file = join(shots, `${name}.png`); await page.screenshot({ path: file, fullPage: true }); return file; },
    close: async () => { await context.close(); await rm(join(profile, 'profile'), { recursive: true, force: true }); },
  };
}

/** Polls the page until `ok` (the CSP forbids evaluated strings, and scripts may be off: no waitForFunction). */
export async function until(ok: () => Promise<boolean>, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (await ok().catch(() => false)) return;
  throw new Error('timed out waiting on the page');
}
