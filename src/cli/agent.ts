// `vmbackup agent install`: flags and help; the work is in app/agent-install-action.ts.
import type { Command } from 'commander';
import type { AgentInstallOpts } from '../app/agent-install-action.js';

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description('install vmbackup on runs_on: hypervisor hosts (README "Installing on hypervisors")');
  agent
    .command('install')
    .description('install or upgrade vmbackup and its bacula-fd configuration on hypervisor HV, idempotently')
    .requiredOption('--host <hv>', 'the hypervisor (runs_on: hypervisor in the policy in force)')
    .option('--check', 'only report drift: exit 1 when anything would change, 0 when nothing would; never changes anything')
    .option('--yes', 'replace deployed files that differ (without it their diff is shown and nothing is changed)')
    .option('--root <dir>', 'prefix every destination path (tests, staging an image)', '/')
    .option('--systemctl <path>', 'the systemctl to run on the hypervisor when bacula-fd.conf changed', 'systemctl')
    .option('--repo <dir>', 'policy repository working tree, used only where no daemon has applied a revision in the state dir (default .)')
    .option('--state-dir <dir>', 'state directory (default $VMBACKUP_STATE_DIR or /var/lib/vmbackup)')
    .option('--log-level <level>', 'pino log level on stderr', 'info')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText('after', '\nDeploys /opt/vmbackup/<version>/ (this vmbackup, compared by its .manifest), /usr/bin/vmbackup, <state_dir> (0750) and /etc/bacula/bacula-fd.conf (0640; restarts bacula-fd when it changed).\nExit status: 0 no changes or installed, 1 refused [VMB_AGENT_REFUSED] or error or (--check) drift, 2 a deployed file differs and --yes was not given (nothing changed).')
    .action(async (opts: AgentInstallOpts) => {
      const { agentInstallAction } = await import('../app/agent-install-action.js');
      await agentInstallAction(opts);
    });
}
