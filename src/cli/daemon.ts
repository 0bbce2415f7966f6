// `vmbackup daemon`: the GitOps reconciler under systemd.
import type { Command } from 'commander';


import type { DaemonCliOptions } from '../app/options.js';

export function registerDaemon(program: Command): void {
  const daemon = program
    .command('daemon')
    .description('watch the policy repo, apply what was merged, keep every VM backed up as its policy says, and commit status back')
    .option('--repo <url|path>', 'the policy repository to follow (a git URL or a local path; required)')
    .option('--state-dir <dir>', 'state: the checkout, run history, locks (default $VMBACKUP_STATE_DIR or /var/lib/vmbackup)', process.env.VMBACKUP_STATE_DIR ?? '/var/lib/vmbackup')
    .option('--branch <name>', 'branch to follow', 'main')
    .option('--poll <seconds>', 'poll interval', '60')
    .option('--listen <host:port>', 'HTTP for /healthz /readyz /metrics and POST /hooks/git (default 127.0.0.1:9478; "off" disables)', '127.0.0.1:9478')
    .option('--max-connections <n>', 'HTTP connections open at once; more are dropped', '64')
    .option('--header-timeout <seconds>', 'HTTP request headers must arrive within this time, else 408 and the connection is closed', '10')
    .option('--request-timeout <seconds>', 'a whole HTTP request (headers and body) must arrive within this time', '30')
    .option('--webhook-max-body <bytes>', 'POST /hooks/git bodies larger than this get 413 (unread)', '65536')
    .option('--api-tokens <file>', 'the console API\'s tokens file (lines "<name> <role> sha256:<hex>", see `vmbackup daemon token`); default: the systemd credential console-tokens. Without one the API answers 401')
    .option('--api-max-streams <n>', 'console API event streams (GET /api/v1/events) open at once', '16')
    .option('--bacula-config-dir <dir>', 'where bacula-dir.conf is installed', '/etc/bacula')
    .option('--bconsole-config <file>', 'bconsole.conf for reload and catch-up runs', '/etc/bacula/bconsole.conf')
    .option('--cron-file <file>', 'with settings.scheduler cron: write this cron.d file directly (a daemon running as root). Default: stage it in <state-dir>/schedule for vmbackup-schedule.path (`vmbackup schedule install`)')
    .option('--allowed-signers <file>', 'apply only commits signed by these SSH keys (git allowed_signers format)')
    .option('--gpg-keyring <dir>', 'apply only commits signed by a key in this GnuPG home')
    .option('--require-signed-history', 'with signing: every commit since the applied revision that changes policy must be signed (default: the new revision itself, which attests its tree)')
    .option('--accept-rewritten-history', 'with signing: also apply a signed revision that does not descend from the applied one (force-push, rollback); off by default')
    .option('--no-push', 'do not commit status back to the repo')
    .option('--once', 'run one reconcile and exit')
    .option('--stop-timeout <seconds>', 'on SIGTERM, wait this long for a running backup', '3600')
    .option('--log-level <level>', 'pino log level', process.env.VMBACKUP_LOG_LEVEL ?? 'info')
    .addHelpText('after', '\nConsole: /api/v1 (OpenAPI at /api/v1/openapi.json) and /ui on the same listener; docs/api.md.\nSignals: SIGHUP reconciles now; SIGTERM finishes the running cycle and exits 0.\nSecrets: VMBACKUP_WEBHOOK_SECRET or the systemd credential webhook-hmac-secret authenticates POST /hooks/git (X-Hub-Signature-256).\nExit status: 0 stopped cleanly (with --once: the reconcile succeeded), 1 could not start (with --once: the reconcile failed, the revision was refused, or an action failed).')
    .action(async (opts: DaemonCliOptions & ApiCliOptions, cmd: Command) => {
      // Checked here, not by commander: `vmbackup daemon token` needs no --repo.
      if (!opts.repo) cmd.error("error: required option '--repo <url|path>' not specified");
      return (await import('../app/daemon-action.js')).daemonAction(opts);
    });
  daemon
    .command('token')
    .description('mint a console API token: prints the token once and the line to add to the daemon\'s tokens file')
    .requiredOption('--name <name>', 'who the token is for (audit lines say api:<name>)')
    .requiredOption('--role <role>', 'viewer, operator or admin')
    .option('--json', 'print {name, role, token, line} as JSON')
    .action(async (opts: { name: string; role: string; json?: boolean }) => (await import('../app/token-action.js')).tokenAction(opts));
}

/** The daemon's console flags. */
export interface ApiCliOptions { apiTokens?: string; apiMaxStreams: string }
