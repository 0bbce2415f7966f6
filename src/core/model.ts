// The plain-data model shared by the whole core: what the policy repo says (desired state),
// after loading and normalising. No I/O, no classes, no clocks: everything here is JSON-able.
import type { ProbeSpec } from './probe.js';
import type { WindowRules } from './schedule/window-rules.js';

/** Where a thing was written, so every diagnostic can say `file:line:col`. */
export interface SourceRef {
  /** Path relative to the policy repo root, with `/` separators. */
  file: string;
  line: number;
  col: number;
}

export type Severity = 'error' | 'warning';

/** A problem found in the policy repo. Stable `code`s are documented in docs/errors.md. */
export interface Diagnostic {
  code: string;
  severity: Severity;
  file: string;
  line: number;
  col: number;
  message: string;
  /** JSON-pointer-ish path to the offending field, e.g. `vms[3].retention.keep_daily`. */
  field?: string;
}

export type Method = 'quiesce' | 'snapshot';
export const METHODS: readonly Method[] = ['quiesce', 'snapshot'];

export type Transport = 'local' | 'ssh';
/** Where vmbackup runs for a hypervisor's VMs: the control host (over `transport`), or the hypervisor itself, started by its bacula-fd. */
export type RunsOn = 'control' | 'hypervisor';
export type SchedulerKind = 'bacula' | 'cron' | 'systemd';
export type TestNetwork = 'none' | 'isolated';

/**
 * A normalised schedule. `cron` is a standard 5-field expression; `filter` narrows it where
 * cron alone cannot say it (every second ISO week; first week of the month).
 */
export interface Schedule {
  /** As written in the repo: `weekly`, `biweekly`, `0 2 * * *`, ... */
  spec: string;
  cron: string;
  filter?: 'even-iso-week' | 'first-week-of-month';
}

/** restic/PBS-style retention. Absent keys are "no rule". `keepWithin` is a duration like `8w`, `30d`, `12h`. */
export interface Retention {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: string;
}

/** Incremental backups: `fullEvery` restore points per chain (1 = always full); a new full when the chain's full is `fullEveryDays` old. */
export interface Incremental {
  fullEvery: number;
  fullEveryDays?: number;
}

/** A secret is only ever a reference: an environment variable or a systemd credential name. */
export type SecretRef = { env: string } | { credential: string };

export interface Hypervisor {
  name: string;
  address: string;
  transport: Transport;
  ssh: { user: string; port: number; identity?: string };
  /** Backup storage as this hypervisor mounts it (the same NFS share as settings.storageRoot). */
  storageRoot: string;
  minFreeGiB: number;
  labels: Record<string, string>;
  /** libvirt URI as seen on the hypervisor itself. */
  libvirtUri: string;
  /** Where restores write disk images on this hypervisor. */
  imagesDir: string;
  isolatedNetwork: string;
  /** `hypervisor`: its bacula-fd (Client `<name>-fd`) runs vmbackup there with the local transport. */
  runsOn: RunsOn;
  /** Its bacula-fd's port (hypervisor mode). */
  fdPort: number;
  /** The Director's password for its bacula-fd (hypervisor mode); only ever a reference. */
  fdPassword: SecretRef;
  /** The Client's `Maximum Concurrent Jobs`: VMs of this hypervisor backed up at once (hypervisor mode). */
  maxConcurrentJobs: number;
  /** vmbackup's state directory on the hypervisor (hypervisor mode): the published revision is in `<stateDir>/repo`. */
  stateDir: string;
  source: SourceRef;
}

export interface VerifyPolicy {
  /** Re-verify a restore point when its last verification is older than this many days. */
  everyDays: number;
}

export interface TestRestorePolicy {
  /** 0 means never. */
  everyDays: number;
  /** How many VMs of the policy to test per period (rotating); undefined = every VM. */
  sample?: number;
  network: TestNetwork;
  /** The evidence of a boot (test_restore.probe); undefined = the default for the VM (core/probe.ts). */
  probe?: ProbeSpec;
}

export interface Policy {
  name: string;
  description?: string;
  selector?: { matchLabels: Record<string, string> };
  schedule?: Schedule;
  method?: Method;
  priority?: number;
  retention?: Retention;
  incremental?: Incremental;
  verify?: VerifyPolicy;
  testRestore?: TestRestorePolicy;
  compression?: 'none' | 'zstd';
  allowOffline?: boolean;
  requireQuiesce?: boolean;
  /** `window` / `blackout`: when scheduled and catch-up backups may start (core/schedule/window.ts). */
  window?: WindowRules;
  source: SourceRef;
}

/** A VM with its policy resolved: every field the engine needs is present. */
export interface Vm {
  name: string;
  hypervisor: string;
  /** The policy that applied, if any (explicit `policy:`, a selector match, or settings.defaults.policy). */
  policy?: string;
  enabled: boolean;
  method: Method;
  priority: number;
  schedule: Schedule;
  retention: Retention;
  /** The VM's own `incremental:` block, else its policy's, else `{ fullEvery: 1 }` (always full). */
  incremental: Incremental;
  /** Commands run on the control host before the backup, each already split into argv. */
  preBackupCommands: string[][];
  labels: Record<string, string>;
  disks: { include: string[]; exclude: string[] };
  allowOffline: boolean;
  /** require_quiesce: a quiesce that cannot freeze fails the backup instead of falling back to crash-consistent. */
  requireQuiesce?: boolean;
  verify: VerifyPolicy;
  testRestore: TestRestorePolicy;
  compression: 'none' | 'zstd';
  /** Its policy's `window` / `blackout`; absent: backups may start any time. */
  window?: WindowRules;
  source: SourceRef;
}

export interface BaculaSettings {
  directorName: string;
  directorAddress: string;
  directorPort: number;
  password: SecretRef;
  workingDirectory: string;
  pidDirectory: string;
  queryFile: string;
  catalog: { name: string; dbName: string; dbUser: string; dbPassword?: SecretRef };
  client: { name: string; address: string; port: number; password: SecretRef };
  storage: { name: string; address: string; port: number; password: SecretRef; device: string; mediaType: string };
  maxConcurrentJobs: number;
  /** Absolute path of the vmbackup binary, as called by RunScript. */
  command: string;
  /** The policy-repo checkout that RunScript commands pass as `--repo` (the daemon keeps it there). */
  repoPath: string;
  /** Path of the file the director appends job messages to. */
  logFile: string;
}

export interface BackupSettings {
  freezeTimeoutSec: number;
  agentTimeoutSec: number;
  commitTimeoutSec: number;
  copyTimeoutHours: number;
  storageMarginPercent: number;
  preCommandTimeoutSec: number;
  /** `auto`: local hypervisors stream the image and hash it as it is written; `qemu-img`: always `qemu-img convert`. */
  imageWriter: 'auto' | 'qemu-img';
}

export interface Settings {
  /** Backup storage as the control host (where vmbackup runs) mounts it. */
  storageRoot: string;
  ssh: { knownHosts?: string; strictHostKeyChecking: boolean; connectTimeoutSec: number; controlDir: string };
  backup: BackupSettings;
  testRestore: { isolatedNetwork: string; bootTimeoutSec: number };
  scheduler: SchedulerKind;
  timeZone: string;
  bacula: BaculaSettings;
  cron: { user: string; command: string; repoPath: string };
  notifications: {
    slack?: { failureWebhook?: SecretRef; digestWebhook?: SecretRef; digestSchedule: string };
    email?: { host: string; port: number; from: string; to: string[]; user?: string; password?: SecretRef };
    webhook?: { url: SecretRef };
  };
  statusPath: string;
  defaultPolicy?: string;
  /** Grace added to a schedule before a VM counts as overdue, in hours. */
  overdueGraceHours: number;
  /** The mass-prune guard: refuse a pass deleting more than this share (0..1) unless allowMassPrune. */
  maxPruneShare: number;
  allowMassPrune: boolean;
  removedVmGraceDays: number;
  source: SourceRef;
}

export interface DesiredState {
  settings: Settings;
  hypervisors: Hypervisor[];
  policies: Policy[];
  vms: Vm[];
}

/** One backup of one VM, as recorded in storage or in `status/vms/<vm>.yaml`. */
export interface RestorePoint {
  /** The backup directory name: `YYYY-MM-DD-HHMMSS`. */
  id: string;
  /** ISO-8601 time the backup was taken. */
  time: string;
  status: 'ok' | 'failed';
  /** Result of the most recent checksum verification. */
  verify: 'ok' | 'failed' | 'none';
  /** Absent on points before incrementals: full. */
  kind?: 'full' | 'incremental';
  /** Incremental only: the point it depends on (its chain's previous point). */
  parent?: string;
}

export interface RetentionDecision {
  id: string;
  action: 'keep' | 'prune';
  /** Why: e.g. `keep_weekly 2026-W07`, `newest verified`, `superseded failed backup`. Never empty. */
  reasons: string[];
}

/** A file produced by render: path relative to the output dir. */
export interface RenderedFile {
  path: string;
  content: string;
  /** 0o600 for files that will hold secrets once placeholders are filled. */
  mode: number;
}
