// Deterministic generator of a large, realistic policy repository for the benchmark:
// N hypervisors (hypervisors.yaml), P policies (policies.yaml), settings.yaml, VMs spread over
// one file per hypervisor (vms/<hv>.yaml), and restore-point status files (status/vms/<vm>.yaml).
// Every random choice comes from one seeded PRNG, so the same options give byte-identical files.
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// PRNG: mulberry32, seeded. Never Math.random.

export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.next() * xs.length)]!; }
  /** `k` distinct elements, in a deterministic order. */
  sample<T>(xs: readonly T[], k: number): T[] {
    const a = [...xs];
    for (let i = 0; i < Math.min(k, a.length); i++) {
      const j = i + Math.floor(this.next() * (a.length - i));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a.slice(0, k);
  }
}

// ---------------------------------------------------------------------------------------------
// The model the generator writes (a subset of the policy-file schema).

export interface RetentionSpec { keep_last?: number; keep_daily?: number; keep_weekly?: number; keep_monthly?: number; keep_yearly?: number; keep_within?: string }

export interface VmSpec {
  name: string;
  hypervisor: string;
  description?: string;
  policy?: string;
  enabled?: boolean;
  labels?: Record<string, string>;
  method?: 'quiesce' | 'snapshot';
  priority?: number;
  schedule?: string;
  retention_weeks?: number;
  retention?: RetentionSpec;
  pre_backup_commands?: (string | string[])[];
  disks?: { include?: string[]; exclude?: string[] };
  allow_offline?: boolean;
  compression?: 'none' | 'zstd';
  verify?: { every: string };
}

interface HypervisorSpec { name: string; site: string; rack: string; storageRoot?: string; minFree: number; port?: number }

interface PolicySpec {
  name: string;
  description: string;
  selector?: Record<string, string>;
  schedule: string;
  method: 'quiesce' | 'snapshot';
  priority: number;
  retention?: RetentionSpec;
  retention_weeks?: number;
  verify: string;
  testRestore?: { every: string; sample?: number; network: 'none' | 'isolated' };
  compression?: 'zstd';
  allowOffline?: boolean;
}

export interface GenerateOptions {
  vms: number;
  hypervisors: number;
  policies: number;
  /** VMs that get a status file with restore points. */
  statusVms: number;
  pointsPerVm: number;
  seed: number;
  /** Fixed "now" the status files are written relative to (pass the same to `plan --now`). */
  now: string;
}

export const DEFAULT_GENERATE: GenerateOptions = {
  vms: 10_000, hypervisors: 500, policies: 50, statusVms: 1_000, pointsPerVm: 8, seed: 0x5eed2026, now: '2026-12-01T06:00:00Z',
};

export interface Fleet {
  opts: GenerateOptions;
  hypervisors: HypervisorSpec[];
  policies: PolicySpec[];
  /** VMs by hypervisor name, in file order. */
  vmsByHv: Map<string, VmSpec[]>;
  rng: Rng;
  nextVmSerial: number;
}

export interface MutationSummary { retention: number; schedule: number; priority: number; added: number; removed: number; touchedFiles: number; touchedVms: number }

// ---------------------------------------------------------------------------------------------
// Vocabulary

const SITES = ['dc1', 'dc2', 'dc3', 'fra1'];
const TEAMS = ['payments', 'search', 'identity', 'storefront', 'analytics', 'platform', 'network', 'storage', 'observability', 'devtools', 'billing', 'media', 'support', 'security'];
const TIERS = ['critical', 'high', 'standard', 'dev'] as const;
const ROLES = ['web', 'app', 'api', 'db', 'cache', 'mq', 'ldap', 'build', 'ci', 'mon', 'log', 'lb', 'k8s', 'file', 'mail', 'proxy', 'etl', 'search'];
const APPS: Record<string, string[]> = {
  web: ['nginx', 'apache', 'caddy'], app: ['java', 'python', 'go'], api: ['go', 'node', 'java'], db: ['postgres', 'mysql', 'mariadb', 'mssql'],
  cache: ['redis', 'memcached'], mq: ['rabbitmq', 'kafka'], ldap: ['openldap', 'freeipa'], build: ['jenkins', 'gitlab-runner'], ci: ['gitlab-runner', 'buildkite'],
  mon: ['prometheus', 'grafana', 'zabbix'], log: ['loki', 'elasticsearch'], lb: ['haproxy', 'envoy'], k8s: ['kubelet', 'etcd'], file: ['samba', 'nfs'],
  mail: ['postfix', 'dovecot'], proxy: ['squid', 'envoy'], etl: ['airflow', 'spark'], search: ['elasticsearch', 'solr'],
};
const WORDS = ['daily', 'weekly', 'biweekly', 'monthly'];
/** 5-field crons Bacula can express: day-of-month and day-of-week never both restricted, ≤ 24 times a day. */
const CRONS = ['30 1 * * 1-5', '0 3 * * 0', '15 22 1 * *', '0 2 * * 6', '45 23 * * 1,3,5', '0 */6 * * *', '0 4 1-7 * *', '30 0 * jan,apr,jul,oct 0', '0 20 * * mon-fri', '10 5 15 * *'];
const EXPLICIT_POLICIES = ['standard', 'appliance', 'archive-monthly', 'compliance-7y', 'legacy-daily', 'lab', 'dr-replica', 'db-daily', 'db-weekly', 'quiet-hours'];

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

// ---------------------------------------------------------------------------------------------
// Building the fleet

function buildHypervisors(rng: Rng, count: number): HypervisorSpec[] {
  const out: HypervisorSpec[] = [];
  const perRack = 5;
  for (let i = 0; i < count; i++) {
    const site = SITES[i % SITES.length]!;
    const rack = `r${pad(Math.floor(i / (SITES.length * perRack)) + 1, 2)}`;
    const host = Math.floor(i / SITES.length) % perRack + 1;
    out.push({
      name: `kvm-${site}-${rack}-${pad(host, 2)}`,
      site,
      rack,
      ...(rng.chance(0.1) ? { storageRoot: `/mnt/backup-${site}` } : {}),
      minFree: rng.pick([50, 50, 50, 100, 200]),
      ...(rng.chance(0.05) ? { port: 2222 } : {}),
    });
  }
  return out;
}

function tierPolicy(rng: Rng, name: string, team: string, tier: (typeof TIERS)[number]): PolicySpec {
  const cron = rng.chance(0.15) ? rng.pick(CRONS) : undefined;
  switch (tier) {
    case 'critical': return {
      name, description: `${team}: production ${tier} services (priority 1-5)`, selector: { team, tier },
      schedule: cron ?? rng.pick(['weekly', 'daily', 'weekly']), method: 'quiesce', priority: rng.int(1, 5),
      retention: { keep_last: 2, keep_weekly: rng.int(6, 10), keep_monthly: 6, keep_yearly: 1 }, verify: '30d',
      testRestore: { every: 'monthly', sample: 1, network: 'isolated' }, compression: 'zstd',
    };
    case 'high': return {
      name, description: `${team}: customer-facing services (priority 6-10)`, selector: { team, tier },
      schedule: cron ?? 'weekly', method: 'quiesce', priority: rng.int(6, 10),
      retention: { keep_weekly: rng.int(4, 8), keep_monthly: 3 }, verify: '30d', testRestore: { every: 'quarterly', sample: 1, network: 'isolated' },
    };
    case 'standard': return {
      name, description: `${team}: everything else in production (priority 11-20)`, selector: { team, tier },
      schedule: cron ?? 'biweekly', method: 'snapshot', priority: rng.int(11, 20),
      retention: { keep_within: `${rng.int(3, 6)}w`, keep_monthly: 2 }, verify: '30d', testRestore: { every: 'quarterly', network: 'none' },
    };
    default: return {
      name, description: `${team}: development and test (priority 21+)`, selector: { team, tier },
      schedule: cron ?? rng.pick(['biweekly', 'monthly']), method: 'snapshot', priority: rng.int(21, 40),
      ...(rng.chance(0.5) ? { retention_weeks: 2 } : { retention: { keep_last: 2 } }), verify: '90d', allowOffline: true,
    };
  }
}

function explicitPolicy(rng: Rng, name: string): PolicySpec {
  switch (name) {
    case 'standard': return { name, description: 'Default for VMs no selector matches.', schedule: 'biweekly', method: 'snapshot', priority: 15, retention: { keep_within: '4w', keep_monthly: 2 }, verify: '30d', testRestore: { every: 'quarterly', sample: 1, network: 'none' } };
    case 'appliance': return { name, description: 'Network appliances without a guest agent (ASAv); crash-consistent snapshots.', schedule: 'weekly', method: 'snapshot', priority: 2, retention: { keep_weekly: 8 }, verify: '30d', testRestore: { every: 'quarterly', network: 'none' } };
    case 'archive-monthly': return { name, description: 'Cold archives, monthly.', schedule: 'monthly', method: 'snapshot', priority: 50, retention: { keep_monthly: 12, keep_yearly: 3 }, verify: '90d' };
    case 'compliance-7y': return { name, description: 'Regulated data: seven years of monthlies.', schedule: 'weekly', method: 'quiesce', priority: 4, retention: { keep_weekly: 8, keep_monthly: 12, keep_yearly: 7 }, verify: 'monthly', testRestore: { every: 'monthly', sample: 2, network: 'isolated' }, compression: 'zstd' };
    case 'legacy-daily': return { name, description: 'Old systems that change daily.', schedule: 'daily', method: 'snapshot', priority: 12, retention: { keep_daily: 14, keep_weekly: 4 }, verify: '30d' };
    case 'lab': return { name, description: 'Lab machines.', schedule: 'monthly', method: 'snapshot', priority: 60, retention_weeks: 4, verify: 'never', allowOffline: true };
    case 'dr-replica': return { name, description: 'Disaster-recovery replicas.', schedule: '0 20 * * mon-fri', method: 'snapshot', priority: 9, retention: { keep_last: 3, keep_daily: 7 }, verify: '30d' };
    case 'db-daily': return { name, description: 'Databases without native dumps.', schedule: '30 1 * * 1-5', method: 'quiesce', priority: 3, retention: { keep_daily: 10, keep_weekly: 6, keep_monthly: 3 }, verify: '30d', testRestore: { every: 'monthly', sample: 1, network: 'isolated' } };
    case 'db-weekly': return { name, description: 'Databases with native dumps.', schedule: 'weekly', method: 'quiesce', priority: 5, retention: { keep_weekly: 8, keep_monthly: 6 }, verify: '30d' };
    default: return { name, description: 'Backups outside business hours.', schedule: '0 3 * * 0', method: 'snapshot', priority: rng.int(15, 25), retention: { keep_within: '6w' }, verify: '30d' };
  }
}

function buildPolicies(rng: Rng, count: number): PolicySpec[] {
  const explicit = EXPLICIT_POLICIES.slice(0, Math.min(EXPLICIT_POLICIES.length, count));
  const out: PolicySpec[] = explicit.map((n) => explicitPolicy(rng, n));
  for (let k = 0; out.length < count; k++) {
    const team = TEAMS[Math.floor(k / TIERS.length)] ?? `team${Math.floor(k / TIERS.length)}`;
    const tier = TIERS[k % TIERS.length]!;
    out.push(tierPolicy(rng, `${team}-${tier}`, team, tier));
  }
  return out;
}

function makeVm(f: Fleet, hv: HypervisorSpec): VmSpec {
  const rng = f.rng;
  const serial = f.nextVmSerial++;
  const role = rng.pick(ROLES);
  const selectorPolicies = f.policies.filter((p) => p.selector);
  const vm: VmSpec = { name: `${role}-${hv.site}-${pad(serial, 5)}`, hypervisor: hv.name };
  const env = rng.chance(0.8) ? 'prod' : rng.chance(0.5) ? 'staging' : 'dev';
  const kind = rng.next();
  if (kind < 0.01) {
    // A network appliance: explicit policy, a pre-backup command.
    vm.name = `asav-${hv.site}-${pad(serial, 5)}`;
    vm.policy = 'appliance';
    vm.labels = { kind: 'appliance', site: hv.site };
    vm.method = 'snapshot';
    vm.pre_backup_commands = [['ssh', `admin@10.${rng.int(0, 255)}.${rng.int(0, 255)}.1`, 'write memory']];
  } else if (kind < 0.26) {
    // Explicit policy.
    const p = rng.chance(0.5) ? rng.pick(f.policies.filter((x) => !x.selector)) : rng.pick(selectorPolicies.length ? selectorPolicies : f.policies);
    vm.policy = p.name;
    vm.labels = { app: rng.pick(APPS[role]!), env, site: hv.site };
  } else if (kind < 0.91 && selectorPolicies.length) {
    // Picked up by exactly one selector (team + tier pairs are unique per policy).
    const p = rng.pick(selectorPolicies);
    vm.labels = { ...p.selector!, app: rng.pick(APPS[role]!), env };
    if (rng.chance(0.3)) vm.labels.owner = `${p.selector!.team}-oncall`;
  } else {
    // No selector matches: settings.default_policy applies.
    vm.labels = { team: rng.pick(TEAMS), tier: 'unassigned', app: rng.pick(APPS[role]!), env };
  }
  if (rng.chance(0.1)) vm.description = `${role} node ${serial} (${vm.labels.app ?? 'appliance'}) in ${hv.site}/${hv.rack}`;
  if (rng.chance(0.2)) vm.priority = rng.int(1, 60);
  const s = rng.next();
  if (s < 0.1) vm.schedule = rng.pick(WORDS);
  else if (s < 0.15) vm.schedule = rng.pick(CRONS);
  const r = rng.next();
  if (r < 0.1) vm.retention_weeks = rng.int(2, 12);
  else if (r < 0.15) vm.retention = { keep_daily: 7, keep_weekly: rng.int(2, 6) };
  if (!vm.pre_backup_commands && rng.chance(0.05)) {
    vm.pre_backup_commands = rng.chance(0.7)
      ? [['/usr/local/bin/app-quiesce', '--vm', vm.name], ...(rng.chance(0.3) ? [['/usr/bin/logger', '-t', 'vmbackup', `pre-backup ${vm.name}`]] : [])]
      : [`/usr/local/sbin/flush-cache --target ${vm.name} --timeout 30`];
  }
  if (rng.chance(0.05)) vm.disks = rng.chance(0.6) ? { exclude: [rng.pick(['vdb', 'vdc', 'sdb'])] } : { include: ['vda', 'vdb'] };
  if (rng.chance(0.01)) vm.enabled = false;
  if (rng.chance(0.02)) vm.allow_offline = true;
  if (rng.chance(0.05)) vm.compression = 'zstd';
  if (rng.chance(0.05) && !vm.method) vm.method = rng.pick(['quiesce', 'snapshot']);
  if (rng.chance(0.02)) vm.verify = { every: rng.pick(['14d', '30d', 'monthly']) };
  return vm;
}

export function buildFleet(opts: GenerateOptions): Fleet {
  const rng = new Rng(opts.seed);
  const f: Fleet = { opts, hypervisors: buildHypervisors(rng, opts.hypervisors), policies: buildPolicies(rng, opts.policies), vmsByHv: new Map(), rng, nextVmSerial: 1 };
  for (const hv of f.hypervisors) f.vmsByHv.set(hv.name, []);
  for (let i = 0; i < opts.vms; i++) {
    const hv = f.hypervisors[i % f.hypervisors.length]!;
    f.vmsByHv.get(hv.name)!.push(makeVm(f, hv));
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// YAML emitters (hand-written, so the files look like people wrote them: comments, flow maps)

const PLAIN = /^[A-Za-z0-9/_.@][A-Za-z0-9/_.@-]*$/;
const LOOKS_TYPED = /^(true|false|yes|no|on|off|null|~|[-+]?[0-9][0-9_.:eE+-]*|0x[0-9a-f]+|\.inf|\.nan)$/i;

/** A YAML scalar: plain when that is unambiguous, else JSON (a valid YAML double-quoted string). */
export function q(s: string): string {
  return PLAIN.test(s) && !LOOKS_TYPED.test(s) ? s : JSON.stringify(s);
}

const flowMap = (m: Record<string, string | number>): string =>
  `{ ${Object.entries(m).map(([k, v]) => `${k}: ${typeof v === 'number' ? v : q(v)}`).join(', ')} }`;
const flowSeq = (xs: readonly string[]): string => `[${xs.map(q).join(', ')}]`;

function emitVm(vm: VmSpec): string {
  const l: string[] = [`  - name: ${q(vm.name)}`, `    hypervisor: ${q(vm.hypervisor)}`];
  if (vm.description !== undefined) l.push(`    description: ${q(vm.description)}`);
  if (vm.policy !== undefined) l.push(`    policy: ${q(vm.policy)}`);
  if (vm.labels) l.push(`    labels: ${flowMap(vm.labels)}`);
  if (vm.method) l.push(`    method: ${vm.method}`);
  if (vm.priority !== undefined) l.push(`    priority: ${vm.priority}`);
  if (vm.schedule !== undefined) l.push(`    schedule: ${JSON.stringify(vm.schedule)}${vm.schedule.includes(' ') ? '   # cron, host local time' : ''}`);
  if (vm.retention_weeks !== undefined) l.push(`    retention_weeks: ${vm.retention_weeks}`);
  if (vm.retention) l.push(`    retention: ${flowMap(vm.retention as Record<string, string | number>)}`);
  if (vm.pre_backup_commands) {
    l.push('    pre_backup_commands:');
    for (const c of vm.pre_backup_commands) l.push(`      - ${typeof c === 'string' ? JSON.stringify(c) : flowSeq(c)}`);
  }
  if (vm.disks) l.push(`    disks: { ${Object.entries(vm.disks).map(([k, v]) => `${k}: ${flowSeq(v as string[])}`).join(', ')} }`);
  if (vm.enabled === false) l.push('    enabled: false   # decommissioning; kept for the record');
  if (vm.allow_offline !== undefined) l.push(`    allow_offline: ${vm.allow_offline}`);
  if (vm.compression) l.push(`    compression: ${vm.compression}`);
  if (vm.verify) l.push(`    verify: { every: ${q(vm.verify.every)} }`);
  return l.join('\n');
}

function emitVmFile(hv: HypervisorSpec, vms: readonly VmSpec[]): string {
  return [
    '# yaml-language-server: $schema=../schemas/policy-file.schema.json',
    `# VMs running on ${hv.name} (${hv.site}, rack ${hv.rack}).`,
    vms.length ? 'vms:' : 'vms: []',
    ...vms.map((v) => emitVm(v) + '\n'),
  ].join('\n');
}

function emitHypervisors(hvs: readonly HypervisorSpec[]): string {
  const out = ['# KVM hypervisors, reached over ssh from the Bacula host.', 'hypervisors:'];
  for (const h of hvs) {
    out.push(`  - name: ${h.name}`, `    address: ${h.name}.${h.site}.example.internal`,
      `    ssh: { user: vmbackup${h.port ? `, port: ${h.port}` : ''}, identity: /etc/vmbackup/ssh/id_ed25519 }`);
    if (h.storageRoot) out.push(`    storage_root: ${h.storageRoot}`);
    out.push(`    min_free_gb: ${h.minFree}`, `    labels: ${flowMap({ site: h.site, rack: h.rack })}`);
  }
  return out.join('\n') + '\n';
}

function emitPolicies(ps: readonly PolicySpec[]): string {
  const out = ['# Named policies. A VM gets one by `policy: NAME`, else by a selector (team + tier, unique), else settings.default_policy.', 'policies:'];
  for (const p of ps) {
    out.push(`  - name: ${p.name}`, `    description: ${q(p.description)}`);
    if (p.selector) out.push(`    selector: { match_labels: ${flowMap(p.selector)} }`);
    out.push(`    schedule: ${JSON.stringify(p.schedule)}`, `    method: ${p.method}`, `    priority: ${p.priority}`);
    if (p.retention) out.push(`    retention: ${flowMap(p.retention as Record<string, string | number>)}`);
    if (p.retention_weeks !== undefined) out.push(`    retention_weeks: ${p.retention_weeks}`);
    out.push(`    verify: { every: ${p.verify} }`);
    if (p.testRestore) out.push(`    test_restore: ${flowMap(p.testRestore as Record<string, string | number>)}`);
    if (p.compression) out.push(`    compression: ${p.compression}`);
    if (p.allowOffline) out.push('    allow_offline: true');
    out.push('');
  }
  return out.join('\n');
}

const SETTINGS = `# yaml-language-server: $schema=../schemas/policy-file.schema.json
settings:
  storage_root: /mnt/backup
  scheduler: bacula
  time_zone: Europe/Berlin
  status_path: status
  default_policy: standard
  overdue_grace_hours: 24
  bacula:
    director_name: bacula-dir
    director_address: bacula.example.internal
    max_concurrent_jobs: 4
    password: { env: BACULA_DIR_PASSWORD }
    catalog: { name: MyCatalog, db_name: bacula, db_user: bacula, db_password: { credential: bacula-db-password } }
    client: { name: bacula-fd, password: { credential: bacula-fd-password } }
    storage: { name: bacula-sd, password: { credential: bacula-sd-password } }
    command: /usr/bin/vmbackup
    repo_path: /var/lib/vmbackup/repo
  cron:
    user: root
    command: /usr/bin/vmbackup
  notifications:
    slack:
      failure_webhook: { env: SLACK_FAILURE_WEBHOOK }
      digest_webhook: { env: SLACK_SUCCESS_WEBHOOK }
      digest_schedule: "0 18 * * 0"
    email:
      host: smtp.example.internal
      port: 587
      from: vmbackup@example.internal
      to: [backup-team@example.internal]
      password: { credential: smtp-password }
`;

/** `2026-11-28-120015` for a UTC date. */
function backupId(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

function emitStatus(rng: Rng, vm: string, now: string, count: number): string {
  const out = ['# Written by the vmbackup daemon.', `vm: ${q(vm)}`, 'restore_points:'];
  const nowMs = Date.parse(now);
  for (let i = 0; i < count; i++) {
    const t = new Date(nowMs - (i + 1) * 7 * 86_400_000 + rng.int(0, 3600) * 1000);
    const failed = rng.chance(0.03);
    out.push(`  - id: ${backupId(t)}`, `    time: ${t.toISOString().replace('.000', '')}`, `    status: ${failed ? 'failed' : 'ok'}`,
      `    verify: ${failed ? 'none' : rng.chance(0.9) ? 'ok' : 'none'}`);
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Writing and mutating

function put(root: string, rel: string, text: string): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
}

export const allVms = (f: Fleet): VmSpec[] => [...f.vmsByHv.values()].flat();

/** Writes every policy file (not the status files). */
export function writePolicyFiles(f: Fleet, root: string): void {
  put(root, 'settings.yaml', SETTINGS);
  put(root, 'hypervisors.yaml', emitHypervisors(f.hypervisors));
  put(root, 'policies.yaml', emitPolicies(f.policies));
  for (const hv of f.hypervisors) put(root, `vms/${hv.name}.yaml`, emitVmFile(hv, f.vmsByHv.get(hv.name)!));
}

/** Restore points for `statusVms` VMs, always including `must` (the ones whose retention will change). */
export function writeStatusFiles(f: Fleet, root: string, must: readonly string[]): number {
  const names = new Set(must);
  const rest = allVms(f).map((v) => v.name).filter((n) => !names.has(n));
  for (const n of f.rng.sample(rest, Math.max(0, f.opts.statusVms - names.size))) names.add(n);
  for (const n of [...names].sort()) put(root, `status/vms/${n}.yaml`, emitStatus(f.rng, n, f.opts.now, f.opts.pointsPerVm));
  return names.size;
}

/**
 * The "pull request": changes about 5% of the VMs (retention 2%, schedule 1.5%, priority 0.5%,
 * 0.5% removed, 0.5% added). Call `pickRetentionTargets` first so status files can cover them.
 */
export function pickRetentionTargets(f: Fleet): VmSpec[] {
  const candidates = allVms(f).filter((v) => v.enabled !== false);
  return f.rng.sample(candidates, Math.round(f.opts.vms * 0.02));
}

export function mutateFleet(f: Fleet, retentionTargets: readonly VmSpec[], root: string): MutationSummary {
  const rng = f.rng;
  const touched = new Set<string>();
  const touchedVms = new Set<string>();
  const mark = (v: VmSpec): void => { touched.add(v.hypervisor); touchedVms.add(v.name); };
  for (const v of retentionTargets) {
    // Shorter retention prunes existing restore points; longer keeps more.
    if (v.retention) delete v.retention;
    if (rng.chance(0.5)) { delete v.retention_weeks; v.retention = { keep_last: 1, keep_weekly: rng.int(2, 4) }; }
    else v.retention_weeks = v.retention_weeks && v.retention_weeks > 3 ? v.retention_weeks - 2 : rng.int(2, 10);
    mark(v);
  }
  const untouched = (): VmSpec[] => allVms(f).filter((v) => !touchedVms.has(v.name) && v.enabled !== false);
  const sched = rng.sample(untouched(), Math.round(f.opts.vms * 0.015));
  for (const v of sched) { v.schedule = rng.chance(0.7) ? rng.pick(WORDS.filter((w) => w !== v.schedule)) : rng.pick(CRONS.filter((c) => c !== v.schedule)); mark(v); }
  const prio = rng.sample(untouched(), Math.round(f.opts.vms * 0.005));
  for (const v of prio) { v.priority = ((v.priority ?? 10) % 60) + 1; mark(v); }
  const removed = rng.sample(untouched(), Math.round(f.opts.vms * 0.005));
  for (const v of removed) {
    const list = f.vmsByHv.get(v.hypervisor)!;
    list.splice(list.indexOf(v), 1);
    mark(v);
  }
  const added = Math.round(f.opts.vms * 0.005);
  for (let i = 0; i < added; i++) {
    const hv = rng.pick(f.hypervisors);
    const vm = makeVm(f, hv);
    f.vmsByHv.get(hv.name)!.push(vm);
    mark(vm);
  }
  for (const name of touched) {
    const hv = f.hypervisors.find((h) => h.name === name)!;
    put(root, `vms/${name}.yaml`, emitVmFile(hv, f.vmsByHv.get(name)!));
  }
  return { retention: retentionTargets.length, schedule: sched.length, priority: prio.length, added, removed: removed.length, touchedFiles: touched.size, touchedVms: touchedVms.size };
}

export function resetDir(root: string): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
}
