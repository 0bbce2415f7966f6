// `vmbackup schedule install`: the root installer of the daemon's staged schedule, with its report.
import { installStage } from '../adapters/schedule-install.js';
import { EXIT } from './exit-codes.js';

export interface ScheduleInstallOpts { from: string; cronDir: string; unitDir: string; user: string; group?: string; systemctl: string; json?: boolean }

export async function scheduleInstallAction(o: ScheduleInstallOpts): Promise<void> {
  const r = await installStage({ from: o.from, cronDir: o.cronDir, unitDir: o.unitDir, user: o.user, group: o.group ?? o.user, systemctl: o.systemctl });
  if (o.json) process.stdout.write(JSON.stringify({ ...r, changed: r.written.length + r.removed.length > 0 }, null, 2) + '\n');
  else if (!r.written.length && !r.removed.length) process.stdout.write(`schedule (${r.scheduler}): already in force, nothing changed\n`);
  else {
    for (const p of r.written) process.stdout.write(`installed ${p}\n`);
    for (const p of r.removed) process.stdout.write(`removed   ${p}\n`);
    for (const a of r.systemctl) process.stdout.write(`ran       systemctl ${a.join(' ')}\n`);
  }
  process.exitCode = EXIT.OK;
}
