// test-restore's evidence files beside the backup: the console screenshot as PNG and the console's
// last output as text. Written atomically into the confined backup directory: a temp file created
// exclusively (never an existing file or a planted symlink) and renamed over the name.
import { join } from 'node:path';
import { writeFileAtomic } from '../../adapters/atomic-write.js';
import { screenshot } from '../../adapters/libvirt/virsh-evidence.js';
import { readTail } from '../../adapters/libvirt/virsh-evidence.js';
import { cleanConsole, CONSOLE_WINDOW_BYTES } from '../../core/probe.js';
import { screenshotToPng } from '../../adapters/libvirt/screenshot-png.js';
import type { EngineContext } from '../context.js';
import type { Host } from '../hosts.js';

export const SCREENSHOT_FILE = 'test-restore.png';
export const CONSOLE_FILE = 'test-restore-console.txt';

export type ScreenshotEvidence = { file: string; path: string; width: number; height: number; bytes: number } | { error: string };

export async function saveScreenshot(ctx: EngineContext, host: Host, dom: string, backupDir: string): Promise<ScreenshotEvidence> {
  try {
    const { png, width, height } = screenshotToPng(await screenshot(host.virsh, dom));
    const dir = await ctx.storage.confine(backupDir);
    await writeFileAtomic(join(dir, SCREENSHOT_FILE), png, 0o640);
    return { file: SCREENSHOT_FILE, path: join(backupDir, SCREENSHOT_FILE), width, height, bytes: png.length };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The console's newest output (bounded, control characters removed), or undefined when there was none. */
export async function saveConsole(ctx: EngineContext, host: Host, consoleLog: string, backupDir: string): Promise<{ file: string; bytes: number } | undefined> {
  const text = cleanConsole(await readTail(host.transport, consoleLog, CONSOLE_WINDOW_BYTES).catch(() => ''));
  if (!text) return undefined;
  const dir = await ctx.storage.confine(backupDir);
  await writeFileAtomic(join(dir, CONSOLE_FILE), text, 0o640);
  return { file: CONSOLE_FILE, bytes: Buffer.byteLength(text) };
}
