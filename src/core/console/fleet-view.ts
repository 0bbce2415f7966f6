// The fleet page's view model: one row per VM (state, last backup, next due and window, the
// 30-day calendar), grouped like status/README.md. Pure; templates only print what is here.
import type { FleetSummary, VmStatus } from '../status-model.js';
import type { Pause } from '../pause/pause.js';
import { byString } from '../status-yaml.js';
import { dayAge, humanBytes, humanDuration, localDateTime } from '../status-format.js';
import { calendarCells, calendarHeader, type CalendarCell } from './calendar.js';

export interface VmState { label: string; cls: string; reason: string; message: string }

/** Ready / failed / overdue / paused / unknown, from the Ready condition and a pause in force. */
export function vmState(s: VmStatus, pause?: { until: string; reason: string }, tz = 'UTC'): VmState {
  const ready = s.conditions.find((c) => c.type === 'Ready');
  const stalled = s.conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  const reason = ready?.reason ?? 'NoStatus', message = stalled ? `${stalled.reason}: ${stalled.message}` : (ready?.message ?? '');
  const p = pause ?? s.paused;
  if (p) return { label: 'paused', cls: 'st-paused', reason, message: `until ${localDateTime(p.until, tz)}: ${p.reason}` };
  if (ready?.status === 'True') return { label: 'Ready', cls: 'st-ok', reason, message };
  if (ready?.status === 'False') return reason === 'Overdue' ? { label: 'overdue', cls: 'st-warn', reason, message } : { label: 'failed', cls: 'st-bad', reason, message };
  return { label: 'unknown', cls: 'st-unknown', reason, message };
}

export interface FleetRow {
  vm: string;
  href: string;
  hypervisor: string;
  state: VmState;
  lastBackup: string;
  lastBackupTitle: string;
  nextDue: string;
  window?: string;
  cells: CalendarCell[];
}

export interface FleetPage {
  totals?: FleetSummary['totals'];
  revision: string;
  errors: string[];
  days: { day: string; label: string }[];
  groups: { hypervisor: string; rows: FleetRow[] }[];
  empty: boolean;
  timeZone: string;
}

type FleetIn = { summary?: FleetSummary; vms: { status: VmStatus; pause?: Pause; window?: { open: boolean; nextStart?: string; text: string } }[]; revisions: { lastAppliedRevision?: string; lastAttemptErrors: string[] } };

export function lastBackupText(s: VmStatus, now: string, tz: string): { text: string; title: string } {
  const b = s.last_backup;
  if (!b) return { text: 'never', title: '' };
  const extra = [b.size_bytes !== undefined ? humanBytes(b.size_bytes) : '', b.duration_ms !== undefined ? humanDuration(b.duration_ms) : ''].filter(Boolean).join(', ');
  return { text: `${dayAge(b.time, now, tz)}${b.status === 'ok' ? '' : ` (${b.status})`}`, title: `${localDateTime(b.time, tz)}${extra ? ` · ${extra}` : ''}${b.error ? ` · ${b.error}` : ''}` };
}

export function windowText(w: { open: boolean; nextStart?: string; text: string } | undefined, tz: string): string | undefined {
  if (!w) return undefined;
  return w.open ? `window open (${w.text})` : `next window ${w.nextStart ? localDateTime(w.nextStart, tz) : '—'} (${w.text})`;
}

export function fleetPage(view: FleetIn, now: string, tz: string): FleetPage {
  const groups = new Map<string, FleetRow[]>();
  for (const v of view.vms) {
    const s = v.status;
    const last = lastBackupText(s, now, tz);
    const win = windowText(v.window ?? (s.window ? { open: s.window.open, text: s.window.text, ...(s.window.next_start ? { nextStart: s.window.next_start } : {}) } : undefined), tz);
    const row: FleetRow = {
      vm: s.vm, href: `/ui/vms/${encodeURIComponent(s.vm)}`, hypervisor: s.hypervisor, state: vmState(s, v.pause, tz),
      lastBackup: last.text, lastBackupTitle: last.title, nextDue: s.next_due ? localDateTime(s.next_due, tz) : '—',
      ...(win ? { window: win } : {}), cells: calendarCells(s.history, now, tz),
    };
    groups.set(s.hypervisor, [...(groups.get(s.hypervisor) ?? []), row]);
  }
  return {
    ...(view.summary ? { totals: view.summary.totals } : {}),
    revision: view.revisions.lastAppliedRevision?.slice(0, 12) ?? 'none yet',
    errors: view.revisions.lastAttemptErrors,
    days: calendarHeader(now, tz),
    groups: [...groups.keys()].sort(byString).map((hypervisor) => ({ hypervisor, rows: groups.get(hypervisor)!.sort((a, b) => byString(a.vm, b.vm)) })),
    empty: !view.vms.length,
    timeZone: tz,
  };
}
