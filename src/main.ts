#!/usr/bin/env node
// The composition root: the only place that wires commands to adapters and reads process state.
import { Command, CommanderError } from 'commander';
import { registerPlan } from './cli/plan.js';
import { registerRender } from './cli/render.js';
import { registerValidate } from './cli/validate.js';
import { registerBackup } from './cli/backup.js';
import { registerRestore } from './cli/restore.js';
import { registerDaemon } from './cli/daemon.js';
import { registerStatus } from './cli/status.js';
import { registerPrune } from './cli/prune.js';
import { registerInit } from './cli/init.js';
import { registerSchedule } from './cli/schedule.js';
import { registerAgent } from './cli/agent.js';
import { registerPause } from './cli/pause.js';
import { EXIT } from './cli/exit-codes.js';
import { VERSION } from './version.js';
import { defaultVault } from './adapters/secrets/default-vault.js';
import { errorCode, jsonError, wantsJson } from './app/json-error.js';

export function buildProgram(): Command {
  const program = new Command('vmbackup')
    .description('GitOps VM backups for KVM/libvirt fleets: validate, plan and render a policy repository; back up, verify and restore VMs')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerValidate(program);
  registerPlan(program);
  registerRender(program);
  registerBackup(program);
  registerRestore(program);
  registerDaemon(program);
  registerStatus(program);
  registerPrune(program);
  registerInit(program);
  registerSchedule(program);
  registerAgent(program);
  registerPause(program);
  return program;
}

/** A reader that went away (`vmbackup plan --help | head -1`) ends the run quietly, as other CLIs do. */
function quietOnEpipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
    throw e;
  });
}

async function main(argv: string[]): Promise<void> {
  // Not the daemon: a closed log pipe there must fail the service (so systemd restarts it), not end it cleanly.
  if (argv[2] !== 'daemon') quietOnEpipe();
  const json = wantsJson(argv.slice(2));
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? EXIT.OK : EXIT.ERROR;
      if (json && e.exitCode !== 0) process.stdout.write(jsonError('USAGE', e.message.replace(/^error: /, '')));
      return;
    }
    const message = defaultVault.scrub(e instanceof Error ? e.message : String(e));
    if (json) process.stdout.write(jsonError(errorCode(e), message));
    process.stderr.write(`vmbackup: ${message}\n`);
    process.exitCode = EXIT.ERROR;
  }
}

await main(process.argv);
