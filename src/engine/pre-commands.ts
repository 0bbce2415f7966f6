// seed 002's pre_backup_commands (e.g. `ssh admin@asav "write memory"`): run on the control host,
// as argv without a shell, each with a timeout. A failing command aborts the backup.
import { execa } from 'execa';
import type { Logger } from 'pino';

export async function runPreCommands(commands: readonly string[][], timeoutMs: number, log: Logger): Promise<void> {
  for (const argv of commands) {
    const [file, ...args] = argv;
    if (!file) continue;
    const r = await execa(file, args, { reject: false, timeout: timeoutMs, stdin: 'ignore', encoding: 'utf8' });
    const shown = argv.join(' ');
    if (r.timedOut) throw new Error(`pre-backup command timed out after ${timeoutMs} ms: ${shown}`);
    if (r.exitCode !== 0) throw new Error(`pre-backup command exited ${r.exitCode ?? r.signal}: ${shown}: ${String(r.stderr).trim().split('\n').slice(-2).join(' | ')}`);
    log.info({ command: argv[0], args: argv.length - 1 }, 'pre-backup command ok');
  }
}
