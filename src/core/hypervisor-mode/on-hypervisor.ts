// The desired state as vmbackup sees it when a bacula-fd runs it ON hypervisor `name` (runs_on:
// hypervisor): that hypervisor is reached with the local transport and the backup storage is
// where it mounts it, so the streaming writer (one read, hash inline) does the copy. It sends no
// notifications: no channel secret lives on a hypervisor; the control host's `notify` RunScript
// reports the job from the manifest and Bacula's job status. Pure.
import type { DesiredState } from '../model.js';

export type OnHypervisor = { desired: DesiredState } | { error: string };

export function onHypervisor(d: DesiredState, name: string): OnHypervisor {
  const hv = d.hypervisors.find((h) => h.name === name);
  if (!hv) return { error: `--on-hypervisor ${name}: no such hypervisor in the applied revision` };
  if (hv.runsOn !== 'hypervisor') return { error: `--on-hypervisor ${name}: the applied revision runs ${name}'s backups from the control host (runs_on: ${hv.runsOn}); nothing done here` };
  return {
    desired: {
      ...d,
      settings: { ...d.settings, storageRoot: hv.storageRoot, notifications: {} },
      hypervisors: d.hypervisors.map((h) => (h.name === name ? { ...h, transport: 'local' as const } : h)),
    },
  };
}

/**
 * The VMs a scheduled run (`backup --schedule`, cron or a systemd timer) takes here: on a
 * hypervisor only its own VMs; on the control host only VMs of control-mode hypervisors (the
 * others are backed up by their hypervisor's own schedule, never twice).
 */
export function scheduledHere(d: DesiredState, onHypervisorName?: string): (vm: { hypervisor: string }) => boolean {
  if (onHypervisorName !== undefined) return (vm) => vm.hypervisor === onHypervisorName;
  const remote = new Set(d.hypervisors.filter((h) => h.runsOn === 'hypervisor').map((h) => h.name));
  return (vm) => !remote.has(vm.hypervisor);
}
