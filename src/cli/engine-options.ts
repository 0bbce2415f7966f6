// Flags shared by every command that touches hypervisors or backup storage.
import type { Command } from 'commander';

export type { EngineCliOptions } from '../app/options.js';

export function engineOptions(cmd: Command): Command {
  return cmd
    .option('--repo <dir>', 'policy repository working tree, used only where no daemon has applied a revision in the state dir (default .); where one has, its applied revision is in force')
    .option('--state-dir <dir>', 'state directory for locks and run history (default $VMBACKUP_STATE_DIR or /var/lib/vmbackup)')
    .option('--on-hypervisor <name>', 'run as hypervisor <name>\'s own vmbackup (runs_on: hypervisor; its bacula-fd passes this): local transport and its storage mount; acts only on the revision the control host published')
    .option('--log-level <level>', 'pino log level on stderr (trace, debug, info, warn, error)', 'info')
    .option('--json', 'print the result as JSON on stdout');
}
