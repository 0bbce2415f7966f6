// Runs one engine command: set up, run, always close ssh connections, map errors to exit codes.
import { LockedError } from '../adapters/lock.js';
import { EXIT } from './exit-codes.js';
import type { EngineCliOptions } from './options.js';
import type { EngineContext } from '../engine/context.js';
import { setupEngine } from './engine-setup.js';
import { jsonError } from './json-error.js';

export async function withEngine(opts: EngineCliOptions, fn: (ctx: EngineContext) => Promise<number>): Promise<void> {
  let ctx: EngineContext | undefined;
  try {
    ctx = await setupEngine({ ...(opts.repo !== undefined ? { repo: opts.repo } : {}), ...(opts.stateDir ? { stateDir: opts.stateDir } : {}), ...(opts.logLevel ? { logLevel: opts.logLevel } : {}), ...(opts.onHypervisor !== undefined ? { onHypervisor: opts.onHypervisor } : {}) });
    process.exitCode = await fn(ctx);
  } catch (e) {
    if (e instanceof LockedError) {
      if (opts.json) process.stdout.write(jsonError('LOCKED', e.message));
      process.stderr.write(`vmbackup: ${e.message}\n`);
      process.exitCode = EXIT.BUSY;
      return;
    }
    throw e;
  } finally {
    await ctx?.hosts.closeAll();
    // Let queued notifications go out (bounded: a dead webhook never holds up Bacula's job).
    await (ctx?.notifier as { drain?: (ms: number) => Promise<boolean> } | undefined)?.drain?.(15_000);
  }
}

export function printResult(opts: EngineCliOptions, json: unknown, text: string): void {
  process.stdout.write(opts.json ? JSON.stringify(json, null, 2) + '\n' : text.endsWith('\n') ? text : text + '\n');
}
