// scheduler: systemd: one vmbackup-<slug>.timer + vmbackup-<slug>.service per distinct schedule.
// Pure. Unit text is built here from a fixed list of keys (no templates), every value checked to
// fit on one line and quoted for systemd's own syntax (systemd-syntax.ts): no /bin/sh anywhere.
//
//   .timer    OnCalendar= in settings.time_zone (systemd-calendar.ts), Persistent=true: a run
//             missed while the host was off starts at the next boot.
//   .service  Type=oneshot as User=/Group=vmbackup, the same argv as the cron lines
//             (`backup --schedule <slug> --repo <cron.repo_path> --state-dir <its state dir>`),
//             sandboxed. Even ISO weeks (biweekly) cannot be said in OnCalendar=, so the timer
//             fires weekly and ExecCondition= runs `vmbackup schedule due` (exit 1 = skip).
import type { DesiredState, RenderedFile } from './model.js';
import { HEADER, scheduleGroups, stateDirOfRepoPath, type ScheduleGroup } from './render-view.js';
import { onCalendarSpecs } from './systemd-calendar.js';
import { assertOneLine, systemdCommand, systemdText, systemdWord } from './systemd-syntax.js';

export const SYSTEMD_USER = 'vmbackup';
export const SYSTEMD_GROUP = 'vmbackup';

type Line = readonly [key: string, value: string];

/** The keys a rendered unit may hold, per section: nothing else is ever written. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  Unit: ['Description', 'Documentation', 'Wants', 'After'],
  Timer: ['OnCalendar', 'Persistent', 'Unit'],
  Service: [
    'Type', 'User', 'Group', 'UMask', 'EnvironmentFile', 'ExecCondition', 'ExecStart',
    'NoNewPrivileges', 'ProtectSystem', 'ReadWritePaths', 'ProtectHome', 'PrivateTmp', 'PrivateDevices',
    'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectClock',
    'ProtectHostname', 'RestrictAddressFamilies', 'RestrictNamespaces', 'RestrictRealtime', 'RestrictSUIDSGID',
    'LockPersonality', 'SystemCallArchitectures', 'SystemCallFilter', 'CapabilityBoundingSet',
  ],
  Install: ['WantedBy'],
};

function section(name: string, lines: readonly Line[]): string {
  const allowed = ALLOWED[name];
  if (!allowed) throw new RangeError(`unit section [${name}] is not allowed`);
  const body = lines.map(([k, v]) => {
    if (!allowed.includes(k)) throw new RangeError(`key ${k}= is not allowed in [${name}]`);
    assertOneLine(v, `${k}=`);
    return `${k}=${v}`;
  });
  return [`[${name}]`, ...body].join('\n');
}

function unit(comment: readonly string[], sections: readonly [string, readonly Line[]][]): string {
  const head = comment.map((c) => { assertOneLine(c, 'comment'); return `# ${c}`.trimEnd(); });
  return `${[head.join('\n'), ...sections.map(([n, l]) => section(n, l))].join('\n\n')}\n`;
}

export const timerName = (slug: string): string => `vmbackup-${slug}.timer`;
export const serviceName = (slug: string): string => `vmbackup-${slug}.service`;

function checkZone(tz: string): void {
  if (!/^[A-Za-z0-9_+\-/]+$/.test(tz)) throw new RangeError(`time zone ${JSON.stringify(tz)} is not a valid tz name`);
}

function timer(d: DesiredState, g: ScheduleGroup): string {
  const cal = onCalendarSpecs(g.schedule, d.settings.timeZone);
  if ('error' in cal) throw new RangeError(`schedule "${g.schedule.spec}" (VMs ${g.vms.join(', ')}) cannot be rendered for systemd: ${cal.error}`);
  const parity = g.schedule.filter === 'even-iso-week' ? ['Fires every matching week; the service runs only in even ISO weeks (ExecCondition=).'] : [];
  return unit([HEADER, `${g.description}: ${g.vmList}`, `Times are in ${d.settings.timeZone}. Persistent=true: a run missed while the host was down starts at boot.`, ...parity], [
    ['Unit', [['Description', systemdText(`vmbackup schedule ${g.slug} (${g.description})`)]]],
    ['Timer', [...cal.specs.map((s): Line => ['OnCalendar', s]), ['Persistent', 'true'], ['Unit', serviceName(g.slug)]]],
    ['Install', [['WantedBy', 'timers.target']]],
  ]);
}

function service(d: DesiredState, g: ScheduleGroup): string {
  const { command, repoPath } = d.settings.cron;
  const stateDir = stateDirOfRepoPath(repoPath);
  const condition: Line[] = g.schedule.filter === 'even-iso-week'
    ? [['ExecCondition', systemdCommand([command, 'schedule', 'due', '--time-zone', d.settings.timeZone, '--', g.slug])]]
    : [];
  const writable = [stateDir, `-${d.settings.storageRoot}`, `-${d.settings.ssh.controlDir}`].map(systemdWord).join(' ');
  return unit([HEADER, `${g.description}: ${g.vmList}`, 'Backs up the schedule\'s VMs one at a time in priority order, sharing the daemon\'s locks and run history.'], [
    ['Unit', [
      ['Description', systemdText(`vmbackup backup, schedule ${g.slug}`)],
      ['Wants', 'network-online.target'],
      ['After', 'network-online.target remote-fs.target nss-lookup.target'],
    ]],
    ['Service', [
      ['Type', 'oneshot'],
      ['User', SYSTEMD_USER],
      ['Group', SYSTEMD_GROUP],
      ['UMask', '0007'],
      ['EnvironmentFile', '-/etc/vmbackup/vmbackup.env'],
      ...condition,
      ['ExecStart', systemdCommand([command, 'backup', '--schedule', g.slug, '--repo', repoPath, '--state-dir', stateDir])],
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ReadWritePaths', writable],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['PrivateDevices', 'yes'],
      ['ProtectKernelTunables', 'yes'],
      ['ProtectKernelModules', 'yes'],
      ['ProtectKernelLogs', 'yes'],
      ['ProtectControlGroups', 'yes'],
      ['ProtectClock', 'yes'],
      ['ProtectHostname', 'yes'],
      ['RestrictAddressFamilies', 'AF_UNIX AF_INET AF_INET6 AF_NETLINK'],
      ['RestrictNamespaces', 'yes'],
      ['RestrictRealtime', 'yes'],
      ['RestrictSUIDSGID', 'yes'],
      ['LockPersonality', 'yes'],
      ['SystemCallArchitectures', 'native'],
      ['SystemCallFilter', '@system-service'],
      ['CapabilityBoundingSet', ''],
    ]],
  ]);
}

/**
 * The timer and service of every distinct schedule of the enabled VMs, sorted by path (paths
 * are bare file names). Throws RangeError for a value a unit file cannot carry (a control
 * character, a relative command, a bad zone name): validate catches those first.
 */
export function renderSystemd(d: DesiredState): RenderedFile[] {
  checkZone(d.settings.timeZone);
  const files: RenderedFile[] = [];
  for (const g of scheduleGroups(d)) {
    files.push({ path: serviceName(g.slug), content: service(d, g), mode: 0o644 });
    files.push({ path: timerName(g.slug), content: timer(d, g), mode: 0o644 });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
