// Settings with their documented defaults. Secrets default to *references* (environment variable
// names), so a repo that says nothing about passwords still renders without holding one.
import type { Collected, RawItem } from './collect.js';
import type { SecretRef, Settings, SourceRef } from './model.js';

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown, d: string): string => (typeof v === 'string' ? v : d);
const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);
const secret = (v: unknown, d?: SecretRef): SecretRef | undefined => {
  const s = o(v);
  if (typeof s.env === 'string') return { env: s.env };
  if (typeof s.credential === 'string') return { credential: s.credential };
  return d;
};

export const DEFAULT_STORAGE_ROOT = '/mnt/backup';

export function buildSettings(c: Collected): Settings {
  const get = (k: string): unknown => c.settings.get(k)?.data[k];
  const firstRef: SourceRef = [...c.settings.values()].map((i: RawItem) => i.ref)[0] ?? { file: '(defaults)', line: 1, col: 1 };
  const b = o(get('bacula'));
  const cat = o(b.catalog);
  const cl = o(b.client);
  const st = o(b.storage);
  const cr = o(get('cron'));
  const n = o(get('notifications'));
  const slack = n.slack ? o(n.slack) : undefined;
  const email = n.email ? o(n.email) : undefined;
  const hook = n.webhook ? o(n.webhook) : undefined;
  const defaultPolicy = get('default_policy');
  const ssh = o(get('ssh'));
  const bk = o(get('backup'));
  const tr = o(get('test_restore'));
  return {
    storageRoot: str(get('storage_root'), DEFAULT_STORAGE_ROOT),
    ssh: {
      ...(typeof ssh.known_hosts === 'string' ? { knownHosts: ssh.known_hosts } : {}),
      strictHostKeyChecking: ssh.strict_host_key_checking !== false,
      connectTimeoutSec: num(ssh.connect_timeout_seconds, 10),
      controlDir: str(ssh.control_dir, '/run/vmbackup/ssh'),
    },
    backup: {
      freezeTimeoutSec: num(bk.freeze_timeout_seconds, 60),
      agentTimeoutSec: num(bk.agent_timeout_seconds, 10),
      commitTimeoutSec: num(bk.commit_timeout_seconds, 3600),
      copyTimeoutHours: num(bk.copy_timeout_hours, 24),
      storageMarginPercent: num(bk.storage_margin_percent, 10),
      preCommandTimeoutSec: num(bk.pre_command_timeout_seconds, 300),
      imageWriter: bk.image_writer === 'qemu-img' ? 'qemu-img' : 'auto',
    },
    testRestore: { isolatedNetwork: str(tr.isolated_network, 'vmbackup-isolated'), bootTimeoutSec: num(tr.boot_timeout_seconds, 300) },
    scheduler: get('scheduler') === 'cron' || get('scheduler') === 'systemd' ? get('scheduler') as 'cron' | 'systemd' : 'bacula',
    timeZone: str(get('time_zone'), 'UTC'),
    statusPath: str(get('status_path'), 'status'),
    ...(typeof defaultPolicy === 'string' ? { defaultPolicy } : {}),
    overdueGraceHours: num(get('overdue_grace_hours'), 24),
    maxPruneShare: num(get('max_prune_percent'), 25) / 100,
    allowMassPrune: get('allow_mass_prune') === true,
    removedVmGraceDays: num(get('removed_vm_grace_days'), 30),
    bacula: {
      directorName: str(b.director_name, 'vmbackup-dir'),
      directorAddress: str(b.director_address, '127.0.0.1'),
      directorPort: num(b.director_port, 9101),
      password: secret(b.password, { env: 'BACULA_DIR_PASSWORD' })!,
      workingDirectory: str(b.working_directory, '/var/lib/bacula'),
      pidDirectory: str(b.pid_directory, '/run/bacula'),
      queryFile: str(b.query_file, '/etc/bacula/scripts/query.sql'),
      logFile: str(b.log_file, '/var/log/bacula/vmbackup.log'),
      catalog: {
        name: str(cat.name, 'MyCatalog'),
        dbName: str(cat.db_name, 'bacula'),
        dbUser: str(cat.db_user, 'bacula'),
        ...(secret(cat.db_password) ? { dbPassword: secret(cat.db_password)! } : {}),
      },
      client: {
        name: str(cl.name, 'vmbackup-fd'),
        address: str(cl.address, '127.0.0.1'),
        port: num(cl.port, 9102),
        password: secret(cl.password, { env: 'BACULA_FD_PASSWORD' })!,
      },
      storage: {
        name: str(st.name, 'vmbackup-sd'),
        address: str(st.address, '127.0.0.1'),
        port: num(st.port, 9103),
        password: secret(st.password, { env: 'BACULA_SD_PASSWORD' })!,
        device: str(st.device, 'FileStorage'),
        mediaType: str(st.media_type, 'File'),
      },
      maxConcurrentJobs: num(b.max_concurrent_jobs, 1),
      command: str(b.command, '/usr/bin/vmbackup'),
      repoPath: str(b.repo_path, '/var/lib/vmbackup/repo'),
    },
    cron: {
      user: str(cr.user, 'vmbackup'),
      command: str(cr.command, '/usr/bin/vmbackup'),
      repoPath: str(cr.repo_path, '/var/lib/vmbackup/repo'),
    },
    notifications: {
      ...(slack ? {
        slack: {
          ...(secret(slack.failure_webhook) ? { failureWebhook: secret(slack.failure_webhook)! } : {}),
          ...(secret(slack.digest_webhook) ? { digestWebhook: secret(slack.digest_webhook)! } : {}),
          digestSchedule: str(slack.digest_schedule, '0 18 * * 0'),
        },
      } : {}),
      ...(email ? {
        email: {
          host: str(email.host, 'localhost'),
          port: num(email.port, 25),
          from: str(email.from, ''),
          to: Array.isArray(email.to) ? email.to.map(String) : [],
          ...(typeof email.user === 'string' ? { user: email.user } : {}),
          ...(secret(email.password) ? { password: secret(email.password)! } : {}),
        },
      } : {}),
      ...(hook && secret(hook.url) ? { webhook: { url: secret(hook.url)! } } : {}),
    },
    source: firstRef,
  };
}
