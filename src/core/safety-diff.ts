// What a policy change does to vmbackup's own safety nets (host-key checks, the mass-prune guard,
// template overrides, commands run on the control host): listed first in the plan, for reviewers.
// Pure: both desired states and both revisions' raw templates/ overrides come in.
import type { DesiredState } from './model.js';

export interface SafetyChange {
  /** What changed: `settings.ssh.strict_host_key_checking`, `templates/bacula-dir.conf.hbs`, `vms.db1.pre_backup_commands`. */
  subject: string;
  /** The values as printed; both null for a template (the plan's rendered diff shows its effect). */
  before: string | null;
  after: string | null;
  /** Why a reviewer should look twice. */
  why: string;
}

export interface SafetySide { desired: DesiredState; templateOverrides: ReadonlyMap<string, string> }

const text = (v: unknown): string | null => (v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v));

function settingChanges(b: DesiredState['settings'], h: DesiredState['settings']): SafetyChange[] {
  const out: SafetyChange[] = [];
  const add = (subject: string, before: unknown, after: unknown, why: string): void => { out.push({ subject: `settings.${subject}`, before: text(before), after: text(after), why }); };
  if (b.ssh.strictHostKeyChecking && !h.ssh.strictHostKeyChecking) {
    add('ssh.strict_host_key_checking', true, false, 'hypervisor host keys are no longer checked: a machine in the middle could receive the VMs\' disks');
  }
  if (b.ssh.knownHosts !== h.ssh.knownHosts) {
    add('ssh.known_hosts', b.ssh.knownHosts, h.ssh.knownHosts, h.ssh.knownHosts === undefined ? 'removed: ssh falls back to the default known_hosts files' : 'the host keys trusted for the hypervisors come from another file');
  }
  if (!b.allowMassPrune && h.allowMassPrune) add('allow_mass_prune', false, true, 'the mass-prune guard is off: one pass may delete most restore points');
  if (h.maxPruneShare > b.maxPruneShare) {
    add('max_prune_percent', Math.round(b.maxPruneShare * 100), Math.round(h.maxPruneShare * 100), 'one pass may delete a larger share of the restore points before the guard stops it');
  }
  for (const [k, bv, hv] of [['cron.command', b.cron.command, h.cron.command], ['cron.user', b.cron.user, h.cron.user], ['bacula.command', b.bacula.command, h.bacula.command]] as const) {
    if (bv !== hv) add(k, bv, hv, 'the scheduler runs this command on the control host');
  }
  return out;
}

function templateChanges(b: ReadonlyMap<string, string>, h: ReadonlyMap<string, string>): SafetyChange[] {
  const out: SafetyChange[] = [];
  for (const name of [...h.keys()].sort()) {
    const before = b.get(name);
    if (before === h.get(name)) continue;
    out.push({ subject: `templates/${name}`, before: null, after: null, why: before === undefined ? 'a new template override replaces the built-in one: review what it renders' : 'a template override changed: review what it renders' });
  }
  return out;
}

function commandChanges(b: DesiredState, h: DesiredState): SafetyChange[] {
  const before = new Map(b.vms.map((v) => [v.name, v.preBackupCommands]));
  const out: SafetyChange[] = [];
  for (const v of [...h.vms].sort((x, y) => x.name.localeCompare(y.name))) {
    if (!v.enabled || !v.preBackupCommands.length) continue;
    const was = before.get(v.name) ?? [];
    if (JSON.stringify(was) === JSON.stringify(v.preBackupCommands)) continue;
    out.push({ subject: `vms.${v.name}.pre_backup_commands`, before: was.length ? text(was) : null, after: text(v.preBackupCommands), why: 'these commands run on the control host before each backup' });
  }
  return out;
}

/** Every change from `base` to `head` that weakens a safety net, settings first, then templates, then commands. */
export function safetyChanges(base: SafetySide, head: SafetySide): SafetyChange[] {
  return [
    ...settingChanges(base.desired.settings, head.desired.settings),
    ...templateChanges(base.templateOverrides, head.templateOverrides),
    ...commandChanges(base.desired, head.desired),
  ];
}
