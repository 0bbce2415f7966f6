// What the root installer accepts from the unprivileged daemon's staged schedule: an allow-list,
// so a compromised daemon can stage only jobs that run as its own user, never root's.
import { HEADER } from './render-view.js';

export const SCHEDULE_REFUSED = 'VMB_SCHEDULE_REFUSED' as const;
export type StagedScheduler = 'cron' | 'systemd' | 'bacula';

/** The trigger file the daemon writes last; the path unit watches it. */
export const STAGE_MANIFEST = 'manifest';
/** The staged cron.d file's name in the stage dir (installed as `<cron-dir>/vmbackup`). */
export const STAGED_CRON = 'vmbackup.cron';
/** Schedule slugs (scheduleSlug) are [a-z0-9._-]; vmbackup-schedule.* is the installer's own unit pair. */
export const UNIT_NAME = /^vmbackup-(?!schedule\.)[a-z0-9][a-z0-9._-]{0,110}\.(timer|service)$/;

export interface StagedManifest { scheduler: StagedScheduler; files: string[] }
export interface CheckOptions { user: string; group: string }

/** The manifest (JSON) or the reasons it is refused. */
export function parseManifest(text: string): StagedManifest | { errors: string[] } {
  let v: unknown;
  try { v = JSON.parse(text); } catch { return { errors: ['manifest: not JSON'] }; }
  const m = v as { scheduler?: unknown; files?: unknown };
  if (!m || typeof m !== 'object' || !['cron', 'systemd', 'bacula'].includes(m.scheduler as string)) return { errors: ['manifest: scheduler must be cron, systemd or bacula'] };
  if (!Array.isArray(m.files) || !m.files.every((f) => typeof f === 'string') || m.files.length > 1000) return { errors: ['manifest: files must be a list of names'] };
  const files = m.files as string[];
  const scheduler = m.scheduler as StagedScheduler;
  const errors = files.flatMap((f) => nameErrors(scheduler, f));
  if (new Set(files).size !== files.length) errors.push('manifest: a file is listed twice');
  return errors.length ? { errors } : { scheduler, files };
}

function nameErrors(s: StagedScheduler, name: string): string[] {
  const shown = JSON.stringify(name.slice(0, 80));
  if (s === 'cron') return name === STAGED_CRON ? [] : [`manifest: ${shown} is not ${STAGED_CRON}`];
  if (s === 'systemd') return UNIT_NAME.test(name) ? [] : [`manifest: ${shown} is not a vmbackup-<name>.timer or .service file name`];
  return [`manifest: scheduler bacula stages no files (${shown})`];
}

/** Control characters other than newline and tab (a CR could hide a line from a reader). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** cron.d content: comments, blank lines, four environment lines, and jobs that run as `o.user`. */
export function checkCronFile(text: string, o: CheckOptions): string[] {
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const at = `${STAGED_CRON}:${i + 1}`;
    if (CONTROL.test(raw)) { errors.push(`${at}: a control character`); return; }
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line === 'SHELL=/bin/sh') return;
    if (/^PATH=[A-Za-z0-9/_.:-]+$/.test(line) || /^MAILTO=("[A-Za-z0-9@._+-]*"|[A-Za-z0-9@._+-]*)$/.test(line) || /^CRON_TZ=[A-Za-z0-9/_+-]+$/.test(line)) return;
    if (/^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line)) { errors.push(`${at}: only SHELL=/bin/sh, PATH, MAILTO and CRON_TZ may be set`); return; }
    const job = /^(?:@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)|(?:[0-9A-Za-z*,/-]+\s+){4}[0-9A-Za-z*,/-]+)\s+(\S+)\s+\S/.exec(line);
    if (!job) { errors.push(`${at}: not a cron.d job line (5 time fields, user, command)`); return; }
    if (job[1] !== o.user) errors.push(`${at}: the job runs as ${JSON.stringify(job[1]!.slice(0, 40))}, only ${o.user} is accepted`);
  });
  return errors;
}

const SECTIONS: Record<'timer' | 'service', Record<string, Set<string>>> = {
  timer: {
    Unit: new Set(['Description', 'Documentation']),
    Timer: new Set(['OnCalendar', 'Persistent', 'RandomizedDelaySec', 'AccuracySec', 'FixedRandomDelay', 'Unit']),
    Install: new Set(['WantedBy']),
  },
  service: {
    Unit: new Set(['Description', 'Documentation', 'After', 'Wants']),
    Service: new Set(['Type', 'User', 'Group', 'ExecStart', 'ExecCondition', 'EnvironmentFile', 'Environment', 'WorkingDirectory', 'SyslogIdentifier', 'Nice', 'IOSchedulingClass', 'IOSchedulingPriority', 'TimeoutStartSec', 'UMask',
      'NoNewPrivileges', 'PrivateTmp', 'PrivateDevices', 'ProtectSystem', 'ProtectHome', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectClock', 'ProtectHostname',
      'RestrictNamespaces', 'RestrictRealtime', 'RestrictSUIDSGID', 'LockPersonality', 'SystemCallArchitectures', 'SystemCallFilter', 'RestrictAddressFamilies', 'CapabilityBoundingSet', 'ReadWritePaths']),
  },
};
/** Ordering/pulling in only these: a staged service cannot start an arbitrary unit. */
/** The daemon's own env file, the one file PID 1 may read (as root) into a staged service's environment. */
const ENV_FILE = '-/etc/vmbackup/vmbackup.env';
const DEPENDENCIES = new Set(['network-online.target', 'network.target', 'time-sync.target', 'nss-lookup.target', 'remote-fs.target']);

/**
 * One unit file. `staged` names every file staged with it (a timer's Unit= must be one of them).
 * Not allowed, e.g.: User=root, LoadCredential= or another EnvironmentFile= (PID 1 reads them as root),
 * SupplementaryGroups=, capabilities, `+`/`!`/`!!` ExecStart prefixes, line continuations.
 */
export function checkUnitFile(name: string, text: string, staged: readonly string[], o: CheckOptions): string[] {
  if (!UNIT_NAME.test(name)) return [`${JSON.stringify(name.slice(0, 80))}: not a vmbackup-<name>.timer or .service file name`];
  const kind = name.endsWith('.timer') ? 'timer' : 'service';
  const errors: string[] = [];
  const seen = new Map<string, string[]>();
  let section: string | undefined;
  if (!text.split('\n', 5).some((l) => l.startsWith('#') && l.includes(HEADER))) errors.push(`${name}: no "# ${HEADER}" header in its first lines`);
  text.split('\n').forEach((raw, i) => {
    const at = `${name}:${i + 1}`;
    if (CONTROL.test(raw)) { errors.push(`${at}: a control character`); return; }
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    if (line.endsWith('\\')) { errors.push(`${at}: a line continuation`); return; }
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      section = sec[1];
      if (!SECTIONS[kind][section!]) errors.push(`${at}: section [${section}] is not accepted in a .${kind}`);
      return;
    }
    const kv = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
    if (!kv || !section) { errors.push(`${at}: not a Key=value line inside a section`); return; }
    const [, key, value] = kv as unknown as [string, string, string];
    if (!SECTIONS[kind][section]) return;
    if (!SECTIONS[kind][section]!.has(key)) { errors.push(`${at}: ${key}= is not accepted in [${section}]`); return; }
    seen.set(key, [...(seen.get(key) ?? []), value]);
    errors.push(...valueErrors(at, kind, key, value, staged, o));
  });
  if (kind === 'service') {
    if ((seen.get('User') ?? []).length !== 1) errors.push(`${name}: User=${o.user} must be set once`);
    if ((seen.get('ExecStart') ?? []).length === 0) errors.push(`${name}: no ExecStart=`);
  } else if ((seen.get('Unit') ?? []).length !== 1) errors.push(`${name}: Unit= must name its staged service once`);
  return errors;
}

function valueErrors(at: string, kind: 'timer' | 'service', key: string, value: string, staged: readonly string[], o: CheckOptions): string[] {
  switch (key) {
    case 'User': return value === o.user ? [] : [`${at}: User= must be ${o.user}`];
    case 'Group': return value === o.group ? [] : [`${at}: Group= must be ${o.group}`];
    case 'EnvironmentFile': return value === ENV_FILE ? [] : [`${at}: EnvironmentFile= may only be ${ENV_FILE} (PID 1 reads it as root)`];
    case 'CapabilityBoundingSet': return value === '' ? [] : [`${at}: CapabilityBoundingSet= must be empty`];
    case 'ExecStart': case 'ExecCondition': return /^[@:-]*[!+]/.test(value) ? [`${at}: ${key}= with a "+", "!" or "!!" prefix runs with privileges`] : value.startsWith('/') || /^[@:-]+\//.test(value) ? [] : [`${at}: ${key}= must be an absolute path`];
    case 'Unit': return staged.includes(value) && value.endsWith('.service') ? [] : [`${at}: Unit= must name a service staged with the timer`];
    case 'WantedBy': return kind === 'timer' && value === 'timers.target' ? [] : [`${at}: only WantedBy=timers.target (in a timer)`];
    case 'After': case 'Wants': return value.split(/\s+/).every((u) => DEPENDENCIES.has(u)) ? [] : [`${at}: ${key}= may name only ${[...DEPENDENCIES].join(', ')}`];
    case 'Type': return ['oneshot', 'simple', 'exec'].includes(value) ? [] : [`${at}: Type= must be oneshot, simple or exec`];
    default: return [];
  }
}

/** Everything staged, checked: the manifest's names, then each file's content. */
export function checkStaged(m: StagedManifest, files: ReadonlyMap<string, string>, o: CheckOptions): string[] {
  const errors: string[] = [];
  for (const f of m.files) {
    const text = files.get(f);
    if (text === undefined) { errors.push(`${f}: listed in the manifest but not staged`); continue; }
    errors.push(...(m.scheduler === 'cron' ? checkCronFile(text, o) : checkUnitFile(f, text, m.files, o)));
  }
  if (m.scheduler === 'cron' && m.files.length !== 1) errors.push(`cron: exactly one file, ${STAGED_CRON}, is staged`);
  return errors;
}
