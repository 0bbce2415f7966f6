// The restore wizard's checks and its confirmation text: which VM, which point, which host, new
// (name) or in place, which network; says exactly what will happen before anything is queued. Pure.
import type { VmStatus } from '../status-model.js';
import { humanBytes, localDateTime } from '../status-format.js';

export interface RestoreForm { vm: string; backupId: string; hypervisor: string; mode: string; name: string; network: string; confirm?: string }
export interface RestoreChoice { vm: string; backupId: string; hypervisor: string; mode: 'new' | 'in-place'; name?: string; network: 'none' | 'isolated' | 'keep' }

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NETWORK_TEXT = { none: 'no network interface at all', isolated: 'its interfaces on an isolated network (no route out)', keep: 'its interfaces as backed up (same networks and MAC addresses: only if the original is gone)' } as const;

/** Checks the wizard's fields against the VM's restore points and the known hypervisors. */
export function checkRestore(f: RestoreForm, status: VmStatus | undefined, hypervisors: string[]): { ok: true; choice: RestoreChoice } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  if (!status) return { ok: false, errors: [`no VM named ${JSON.stringify(f.vm)}`] };
  const point = status.restore_points.find((p) => p.id === f.backupId);
  if (!point) errors.push('pick a restore point of this VM');
  else if (point.status !== 'ok') errors.push(`restore point ${point.id} is not a good backup (${point.status})`);
  if (!hypervisors.includes(f.hypervisor)) errors.push('pick a target hypervisor');
  if (f.mode !== 'new' && f.mode !== 'in-place') errors.push('pick new or in place');
  if (f.network !== 'none' && f.network !== 'isolated' && f.network !== 'keep') errors.push('pick a network: none, isolated or keep');
  if (f.mode === 'new') {
    if (!NAME.test(f.name)) errors.push('the new VM needs a name: letters, digits, . _ - (at most 64)');
    else if (f.name === f.vm) errors.push('a new VM needs a name other than the original’s (or restore in place)');
  }
  if (f.mode === 'in-place' && f.hypervisor !== status.hypervisor) errors.push(`in place restores on the VM's own hypervisor (${status.hypervisor})`);
  if (errors.length) return { ok: false, errors };
  return { ok: true, choice: { vm: f.vm, backupId: f.backupId, hypervisor: f.hypervisor, mode: f.mode as RestoreChoice['mode'], ...(f.mode === 'new' ? { name: f.name } : {}), network: f.network as RestoreChoice['network'] } };
}

/** In place needs the VM's name typed again. */
export function confirmed(c: RestoreChoice, typed: string | undefined): boolean {
  return c.mode === 'new' || typed === c.vm;
}

/** The confirmation step: what will happen, one sentence per line. */
export function restoreSteps(c: RestoreChoice, status: VmStatus, tz: string): string[] {
  const p = status.restore_points.find((x) => x.id === c.backupId)!;
  const from = `restore point ${p.id} of ${c.vm} (taken ${localDateTime(p.time, tz)}, ${p.kind ?? 'full'}${p.size_bytes !== undefined ? `, ${humanBytes(p.size_bytes)}` : ''})`;
  if (c.mode === 'new') {
    return [
      `Copy the disks of ${from} from backup storage to ${c.hypervisor}.`,
      `Define a new VM named ${c.name} on ${c.hypervisor} with ${NETWORK_TEXT[c.network]}; the original ${c.vm} is not touched.`,
      'The new VM is not started.',
    ];
  }
  return [
    `Shut down ${c.vm} on ${c.hypervisor} (forced off if it does not stop).`,
    `Keep its current disks aside and write the disks of ${from} in their place; if any step fails the kept disks are put back.`,
    `The VM keeps ${c.network === 'keep' ? 'its network as it is now' : NETWORK_TEXT[c.network]}; it is not started.`,
    `Everything written to ${c.vm} since ${localDateTime(p.time, tz)} is lost.`,
  ];
}
