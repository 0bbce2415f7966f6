// The work behind `vmbackup schedule due` (ExecCondition= of a systemd service, see render-systemd.ts).
import { scheduleDue } from '../core/schedule-due.js';
import { escapeTerminal } from '../core/terminal-text.js';
import { EXIT } from './exit-codes.js';

export interface ScheduleDueOpts { timeZone: string; at?: string }

/** Exit 0 when due, 1 when the filter skips this run, 255 on bad input: systemd reads 1-254 from ExecCondition= as "skip", 255 as a failure. */
export const DUE_EXIT = { DUE: EXIT.OK, SKIP: 1, INVALID: 255 } as const;

export function scheduleDueAction(spec: string, opts: ScheduleDueOpts): void {
  const now = opts.at === undefined ? Date.now() : Date.parse(opts.at);
  if (Number.isNaN(now)) {
    process.stderr.write(escapeTerminal(`schedule due: --at ${JSON.stringify(opts.at)} is not a date`) + '\n');
    process.exitCode = DUE_EXIT.INVALID;
    return;
  }
  let r: ReturnType<typeof scheduleDue>;
  try {
    r = scheduleDue(spec, now, opts.timeZone);
  } catch (e) {
    r = { error: `time zone ${JSON.stringify(opts.timeZone)}: ${e instanceof Error ? e.message : String(e)}` };
  }
  if ('error' in r) {
    process.stderr.write(escapeTerminal(`schedule due: ${r.error}`) + '\n');
    process.exitCode = DUE_EXIT.INVALID;
    return;
  }
  const what = r.run === null ? 'no run in the last 35 days' : `the run of ${r.run} (${opts.timeZone})`;
  process.stdout.write(escapeTerminal(`${r.due ? 'due' : 'not due'}: ${what} ${r.due ? 'passes' : 'fails'} the filter of "${spec}"`) + '\n');
  process.exitCode = r.due ? DUE_EXIT.DUE : DUE_EXIT.SKIP;
}
