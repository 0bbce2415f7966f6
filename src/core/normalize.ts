// Turns raw items into the normalised model: defaults filled, policies resolved onto VMs
// (explicit `policy:` > label selector > settings.default_policy), schedules and retention parsed.
// Every problem becomes a diagnostic at the field that caused it; nothing throws.
import { splitCommand } from './argv.js';
import { cadenceDays } from './duration.js';
import { err, refAt, where, type Collected, type RawItem } from './collect.js';
import { hypervisorModeDiags, hypervisorModeOf } from './hypervisor-mode/fields.js';
import type { Diagnostic, Hypervisor, Incremental, Method, Policy, Retention, Schedule, Settings, TestRestorePolicy, Vm } from './model.js';
import { retentionKeepsSomething } from './retention.js';
import { parseDuration } from './retention-duration.js';
import { parseProbe } from './probe.js';
import { baculaRunLines, normalizeSchedule, SCHEDULE_WORDS } from './schedule.js';
import { scheduleDstNotes } from './schedule-dst.js';
import { windowOf } from './schedule/window-field.js';
import { suggest } from './schema-check.js';

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const labelsOf = (v: unknown): Record<string, string> => Object.fromEntries(Object.entries(o(v)).map(([k, x]) => [k, String(x)]));

export const VM_DEFAULTS = { method: 'snapshot' as Method, priority: 10, verifyEveryDays: 30 };

export function buildHypervisors(c: Collected, s: Settings, vmItems: RawItem[], diags: Diagnostic[]): Hypervisor[] {
  const out: Hypervisor[] = c.hypervisors.map((it) => {
    const d = it.data;
    const ssh = o(d.ssh);
    return {
      name: String(d.name),
      address: typeof d.address === 'string' ? d.address : String(d.name),
      transport: d.transport === 'local' ? 'local' : 'ssh',
      ssh: { user: typeof ssh.user === 'string' ? ssh.user : 'root', port: typeof ssh.port === 'number' ? ssh.port : 22, ...(typeof ssh.identity === 'string' ? { identity: ssh.identity } : {}) },
      storageRoot: typeof d.storage_root === 'string' ? d.storage_root : s.storageRoot,
      minFreeGiB: typeof d.min_free_gb === 'number' ? d.min_free_gb : 50,
      labels: labelsOf(d.labels),
      libvirtUri: typeof d.libvirt_uri === 'string' ? d.libvirt_uri : 'qemu:///system',
      imagesDir: typeof d.images_dir === 'string' ? d.images_dir : '/var/lib/libvirt/images',
      isolatedNetwork: typeof d.isolated_network === 'string' ? d.isolated_network : s.testRestore.isolatedNetwork,
      ...hypervisorModeOf(d),
      source: it.ref,
    };
  });
  c.hypervisors.forEach((it, i) => diags.push(...hypervisorModeDiags(it, out[i]!, s)));
  // A repo that declares no hypervisor at all (seed 002's lone vm-list.yaml) gets implicit ones:
  // each name is also the ssh host name. Once any hypervisor is declared, references must resolve.
  if (out.length === 0) {
    const seen = new Set<string>();
    for (const it of vmItems) {
      const name = it.data.hypervisor;
      if (typeof name !== 'string' || seen.has(name)) continue;
      seen.add(name);
      const ref = refAt(it, ['hypervisor']);
      diags.push({ ...err('VMB_IMPLICIT_HYPERVISOR', ref, `hypervisor "${name}" is not declared; assuming ssh root@${name}:22 with storage ${s.storageRoot} (declare it under hypervisors: to silence this)`, 'hypervisor'), severity: 'warning' });
      out.push({ name, address: name, transport: 'ssh', ssh: { user: 'root', port: 22 }, storageRoot: s.storageRoot, minFreeGiB: 50, labels: {}, libvirtUri: 'qemu:///system', imagesDir: '/var/lib/libvirt/images', isolatedNetwork: s.testRestore.isolatedNetwork, ...hypervisorModeOf({}), source: ref });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function retentionOf(it: RawItem, diags: Diagnostic[]): Retention | undefined {
  const d = it.data;
  if (d.retention === undefined && d.retention_weeks === undefined) return undefined;
  const r = o(d.retention);
  const out: Retention = {};
  const map: [string, keyof Retention][] = [['keep_last', 'keepLast'], ['keep_hourly', 'keepHourly'], ['keep_daily', 'keepDaily'], ['keep_weekly', 'keepWeekly'], ['keep_monthly', 'keepMonthly'], ['keep_yearly', 'keepYearly']];
  for (const [k, key] of map) if (typeof r[k] === 'number') (out as Record<string, number>)[key] = r[k] as number;
  if (typeof r.keep_within === 'string') {
    const parsed = parseDuration(r.keep_within);
    if ('error' in parsed) diags.push(err('VMB_BAD_DURATION', refAt(it, ['retention', 'keep_within']), `retention.keep_within: ${parsed.error}`, 'retention.keep_within'));
    else out.keepWithin = r.keep_within;
  }
  if (typeof d.retention_weeks === 'number') {
    if (out.keepWithin) diags.push(err('VMB_RETENTION_CONFLICT', refAt(it, ['retention_weeks'], true), 'retention_weeks and retention.keep_within both set; keep one', 'retention_weeks'));
    else out.keepWithin = `${d.retention_weeks}w`;
  }
  if (!retentionKeepsSomething(out)) {
    diags.push(err('VMB_RETENTION_KEEPS_NOTHING', refAt(it, [d.retention !== undefined ? 'retention' : 'retention_weeks']), 'retention keeps no restore point: set at least one keep_* above zero (or retention_weeks)', 'retention'));
  }
  return out;
}

/** `; did you mean "weekly"?` for a misspelt schedule word (a cron expression gets no hint). */
export function scheduleWordHint(spec: string): string {
  const word = spec.trim().toLowerCase();
  return /^[a-z-]+$/.test(word) ? suggest(word, Object.keys(SCHEDULE_WORDS)) : '';
}

/** Parses a schedule; with the Bacula scheduler it must also be expressible as Bacula Run lines. */
function scheduleOf(it: RawItem, s: Settings, diags: Diagnostic[]): Schedule | undefined {
  const spec = it.data.schedule;
  if (typeof spec !== 'string') return undefined;
  const r = normalizeSchedule(spec);
  if ('error' in r) {
    diags.push(err('VMB_BAD_SCHEDULE', refAt(it, ['schedule']), `schedule "${spec}": ${r.error}${scheduleWordHint(spec)}`, 'schedule'));
    return undefined;
  }
  if (s.scheduler === 'bacula') {
    const b = baculaRunLines(r.schedule);
    if ('error' in b) {
      diags.push(err('VMB_BAD_SCHEDULE', refAt(it, ['schedule']), `schedule "${spec}" cannot be expressed for Bacula (settings.scheduler: bacula): ${b.error}`, 'schedule'));
      return undefined;
    }
  }
  for (const note of scheduleDstNotes(r.schedule, s.timeZone, s.scheduler)) {
    diags.push({ ...err('VMB_SCHEDULE_DST', refAt(it, ['schedule']), `schedule "${spec}" ${note}`, 'schedule'), severity: 'warning' });
  }
  return r.schedule;
}

function testRestoreOf(v: unknown): Partial<TestRestorePolicy> | undefined {
  if (v === undefined) return undefined;
  const t = o(v);
  const probe = parseProbe(t.probe);
  return {
    ...(typeof t.every === 'string' ? { everyDays: cadenceDays(t.every) ?? 0 } : {}),
    ...(typeof t.sample === 'number' ? { sample: t.sample } : {}),
    ...(t.network === 'isolated' || t.network === 'none' ? { network: t.network } : {}),
    ...(probe && 'probe' in probe ? { probe: probe.probe } : {}),
  };
}

/** test_restore.probe problems at the item that wrote them: a console pattern we will not run, tcp without the isolated network. */
function probeDiags(it: RawItem, tr: Partial<TestRestorePolicy>, diags: Diagnostic[]): void {
  const p = parseProbe(o(it.data.test_restore).probe);
  if (p && 'error' in p) diags.push(err('VMB_BAD_PROBE', refAt(it, ['test_restore', 'probe']), `test_restore.probe: ${p.error}`, 'test_restore.probe'));
  if (tr.probe?.kind === 'tcp' && tr.network !== 'isolated') diags.push(err('VMB_BAD_PROBE', refAt(it, ['test_restore', 'probe']), `test_restore.probe tcp ${tr.probe.port} needs test_restore.network: isolated (the port is probed on the isolated network)`, 'test_restore.probe'));
}

/** `incremental:` as written; the schema reports a bad one at its field, so a bad value here is just left out. */
function incrementalOf(v: unknown): Incremental | undefined {
  const { full_every: n, full_every_days: d } = o(v);
  const ok = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 1;
  return ok(n) ? { fullEvery: n, ...(ok(d) ? { fullEveryDays: d } : {}) } : undefined;
}

function verifyOf(v: unknown): { everyDays: number } | undefined {
  const e = o(v).every;
  return typeof e === 'string' ? { everyDays: cadenceDays(e) ?? VM_DEFAULTS.verifyEveryDays } : undefined;
}

export function buildPolicies(c: Collected, s: Settings, diags: Diagnostic[]): Policy[] {
  return c.policies.map((it) => {
    const d = it.data;
    const sel = o(d.selector);
    const retention = retentionOf(it, diags);
    const schedule = scheduleOf(it, s, diags);
    const tr = testRestoreOf(d.test_restore);
    if (tr) probeDiags(it, { network: 'none', ...tr }, diags);
    const verify = verifyOf(d.verify);
    const window = windowOf(it, diags);
    const p: Policy = {
      name: String(d.name),
      source: it.ref,
      ...(typeof d.description === 'string' ? { description: d.description } : {}),
      ...(sel.match_labels ? { selector: { matchLabels: labelsOf(sel.match_labels) } } : {}),
      ...(schedule ? { schedule } : {}),
      ...(d.method === 'quiesce' || d.method === 'snapshot' ? { method: d.method } : {}),
      ...(typeof d.priority === 'number' ? { priority: d.priority } : {}),
      ...(retention ? { retention } : {}),
      ...(incrementalOf(d.incremental) ? { incremental: incrementalOf(d.incremental)! } : {}),
      ...(verify ? { verify } : {}),
      ...(tr ? { testRestore: { everyDays: tr.everyDays ?? 0, network: tr.network ?? 'none', ...(tr.sample ? { sample: tr.sample } : {}), ...(tr.probe ? { probe: tr.probe } : {}) } } : {}),
      ...(d.compression === 'zstd' || d.compression === 'none' ? { compression: d.compression } : {}),
      ...(typeof d.allow_offline === 'boolean' ? { allowOffline: d.allow_offline } : {}),
      ...(typeof d.require_quiesce === 'boolean' ? { requireQuiesce: d.require_quiesce } : {}),
      ...(window ? { window } : {}),
    };
    return p;
  }).sort((a, b) => a.name.localeCompare(b.name));
}

/** Policies with a selector, in map order, with their label pairs (built once, not per VM). */
type Selectors = readonly { policy: Policy; labels: [string, string][] }[];

/** Which policy a VM gets, or a diagnostic when that is ambiguous or dangling. */
function pickPolicy(it: RawItem, labels: Record<string, string>, policies: Map<string, Policy>, selectors: Selectors, s: Settings, diags: Diagnostic[]): Policy | undefined {
  const explicit = it.data.policy;
  if (typeof explicit === 'string') {
    const p = policies.get(explicit);
    if (!p) diags.push(err('VMB_UNKNOWN_POLICY', refAt(it, ['policy']), `policy "${explicit}" is not defined${suggest(explicit, [...policies.keys()])}`, 'policy'));
    return p;
  }
  const matches = selectors.filter((x) => x.labels.every(([k, v]) => labels[k] === v)).map((x) => x.policy);
  if (matches.length > 1) {
    diags.push(err('VMB_AMBIGUOUS_POLICY', it.ref, `VM "${String(it.data.name)}" matches the selectors of several policies: ${matches.map((p) => `${p.name} (${where(p.source)})`).join(', ')}; set policy: explicitly`, 'labels'));
    return undefined;
  }
  if (matches.length === 1) return matches[0];
  return s.defaultPolicy ? policies.get(s.defaultPolicy) : undefined;
}

/** Where the VM's missing policy is named (its `policy:` or settings.default_policy), when it names one that does not exist. */
function missingPolicyCause(it: RawItem, c: Collected, s: Settings, policies: Map<string, Policy>): { ref: ReturnType<typeof refAt>; why: string } | undefined {
  const explicit = it.data.policy;
  if (typeof explicit === 'string') return policies.has(explicit) ? undefined : { ref: refAt(it, ['policy']), why: `its policy "${explicit}" is not defined` };
  const at = c.settings.get('default_policy')?.ref;
  if (s.defaultPolicy && at && !policies.has(s.defaultPolicy)) return { ref: at, why: `settings.default_policy "${s.defaultPolicy}" is not defined` };
  return undefined;
}

export function buildVms(c: Collected, s: Settings, hvs: Hypervisor[], policies: Policy[], diags: Diagnostic[]): Vm[] {
  const hvNames = new Set(hvs.map((h) => h.name));
  const byName = new Map(policies.map((p) => [p.name, p]));
  const selectors: Selectors = [...byName.values()].flatMap((p) => (p.selector ? [{ policy: p, labels: Object.entries(p.selector.matchLabels) }] : []));
  const out: Vm[] = [];
  const dups = new Set(c.duplicateVms);
  for (const it of [...c.vms, ...c.duplicateVms]) {
    const d = it.data;
    const name = String(d.name);
    const hv = String(d.hypervisor);
    if (!hvNames.has(hv)) diags.push(err('VMB_UNKNOWN_HYPERVISOR', refAt(it, ['hypervisor']), `hypervisor "${hv}" is not defined${hvs.length ? ` (known: ${hvs.map((h) => h.name).slice(0, 8).join(', ')}${hvs.length > 8 ? ', …' : ''})` : ''}`, 'hypervisor'));
    const labels = labelsOf(d.labels);
    const p = pickPolicy(it, labels, byName, selectors, s, diags);
    const cause = p ? undefined : missingPolicyCause(it, c, s, byName);
    const schedule = scheduleOf(it, s, diags) ?? p?.schedule;
    const retention = retentionOf(it, diags) ?? p?.retention;
    const enabled = d.enabled !== false;
    // When the policy it names is missing, these are follow-ons: placed at their cause, so they are listed right after it.
    if (enabled && !schedule && typeof d.schedule !== 'string') diags.push(err('VMB_NO_SCHEDULE', cause?.ref ?? it.ref, `VM "${name}" has no schedule: ${cause ? `${cause.why}, so it has none from a policy` : 'set schedule or reference a policy that has one'}`, 'schedule'));
    if (enabled && !retention && d.retention === undefined && d.retention_weeks === undefined) diags.push(err('VMB_NO_RETENTION', cause?.ref ?? it.ref, `VM "${name}" has no retention: ${cause ? `${cause.why}, so it has none from a policy` : 'set retention/retention_weeks or reference a policy that has one'}`, 'retention'));
    const pre: string[][] = [];
    (Array.isArray(d.pre_backup_commands) ? d.pre_backup_commands : []).forEach((cmd: unknown, i: number) => {
      const r = splitCommand(cmd as string | string[]);
      if ('error' in r) diags.push(err('VMB_BAD_COMMAND', refAt(it, ['pre_backup_commands', i]), `pre_backup_commands[${i}]: ${r.error}`, `pre_backup_commands[${i}]`));
      else pre.push(r.argv);
    });
    const disks = o(d.disks);
    const tr = testRestoreOf(d.test_restore);
    if (dups.has(it)) continue;
    if (tr) probeDiags(it, { network: 'none', ...p?.testRestore, ...tr }, diags);
    out.push({
      name,
      hypervisor: hv,
      ...(p ? { policy: p.name } : {}),
      enabled,
      method: d.method === 'quiesce' || d.method === 'snapshot' ? d.method : p?.method ?? VM_DEFAULTS.method,
      priority: typeof d.priority === 'number' ? d.priority : p?.priority ?? VM_DEFAULTS.priority,
      schedule: schedule ?? { spec: 'weekly', cron: '0 12 * * 6' },
      retention: retention ?? {},
      incremental: incrementalOf(d.incremental) ?? p?.incremental ?? { fullEvery: 1 },
      preBackupCommands: pre,
      labels,
      disks: { include: Array.isArray(disks.include) ? disks.include.map(String) : [], exclude: Array.isArray(disks.exclude) ? disks.exclude.map(String) : [] },
      allowOffline: typeof d.allow_offline === 'boolean' ? d.allow_offline : p?.allowOffline ?? false,
      ...((typeof d.require_quiesce === 'boolean' ? d.require_quiesce : p?.requireQuiesce) ? { requireQuiesce: true } : {}),
      verify: verifyOf(d.verify) ?? p?.verify ?? { everyDays: VM_DEFAULTS.verifyEveryDays },
      testRestore: { everyDays: 0, network: 'none', ...p?.testRestore, ...tr } as TestRestorePolicy,
      compression: d.compression === 'zstd' || d.compression === 'none' ? d.compression : p?.compression ?? 'none',
      ...(p?.window ? { window: p.window } : {}),
      source: it.ref,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
