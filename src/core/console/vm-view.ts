// The VM page's view model: state, restore points with keep reasons and verification, runs with
// step timings, the test-restore evidence, and the ad-hoc actions under way. Pure.
import type { RunRecord } from '../run-record.js';
import type { RunLogLine } from '../run-log.js';
import type { VmStatus } from '../status-model.js';
import type { Pause } from '../pause/pause.js';
import { humanBytes, humanDuration, localDateTime, localTime } from '../status-format.js';
import { calendarCells, type CalendarCell } from './calendar.js';
import { lastBackupText, vmState, windowText, type VmState } from './fleet-view.js';

/** What the page needs of a queued action (ports/console QueuedAction fits). */
export interface ActionLike { id: string; kind: string; vm: string; state: string; phase: string; percent?: number; by: string; requestedAt: string; detail?: string }

export interface PointRow { id: string; time: string; kind: string; size: string; status: string; verify: string; verifyCls: string; keep: string; ok: boolean }
export interface RunRow { id: string; kind: string; status: string; cls: string; started: string; took: string; backupId: string; error: string; warnings: string[]; steps: { name: string; ok: boolean; took: string; detail: string }[]; log: { at: string; level: string; text: string }[] }

export interface VmPage {
  vm: string;
  /** `/ui/vms/<vm>`, URL-encoded (forms post to `${path}/act`). */
  path: string;
  restoreHref: string;
  hypervisor: string;
  policy: string;
  observed: string;
  state: VmState;
  lastBackup: string;
  nextDue: string;
  window?: string;
  pause?: { until: string; reason: string; by: string };
  cells: CalendarCell[];
  points: PointRow[];
  /** The newest good point (default for verify / test-restore). */
  newestOk?: string;
  runs: RunRow[];
  testRestore?: { time: string; backupId: string; result: string; cls: string; probe: string; screenshot?: string };
  actions: (ActionLike & { href: string; progress: string })[];
}

/** A log line's fields after its message, `key=value`, for the page (already an allow-list: core/run-log.ts). */
const fieldText = (f: Record<string, unknown>): string => Object.entries(f).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ');

export function runRow(r: RunRecord & { log?: RunLogLine[] }, tz: string): RunRow {
  const took = r.finished ? humanDuration(Date.parse(r.finished) - Date.parse(r.started)) : 'running';
  return {
    id: r.id, kind: r.kind, status: r.status, cls: r.status === 'ok' ? 'st-ok' : r.status === 'running' ? 'st-unknown' : 'st-bad',
    started: localDateTime(r.started, tz), took, backupId: r.backupId ?? '', error: r.error ?? '', warnings: r.warnings,
    steps: r.steps.map((s) => ({ name: s.name, ok: s.ok, took: s.ms < 1000 ? `${s.ms} ms` : humanDuration(s.ms), detail: s.detail ?? '' })),
    log: (r.log ?? []).map((l) => ({ at: l.at && Number.isFinite(Date.parse(l.at)) ? localTime(l.at, tz) : '', level: l.level, text: [l.msg, fieldText(l.fields)].filter(Boolean).join(' ') })),
  };
}

export function actionProgress(a: ActionLike): string {
  return a.phase === 'copying' && a.percent !== undefined ? `copying ${a.percent}%` : a.phase;
}

export function vmPage(v: { status: VmStatus; pause?: Pause; window?: { open: boolean; nextStart?: string; text: string }; runs: (RunRecord & { log?: RunLogLine[] })[]; actions: ActionLike[] }, now: string, tz: string): VmPage {
  const s = v.status;
  const points: PointRow[] = s.restore_points.map((p) => ({
    id: p.id, time: localDateTime(p.time, tz), kind: p.kind ?? 'full', size: p.size_bytes !== undefined ? humanBytes(p.size_bytes) : '—', status: p.status,
    verify: p.verify, verifyCls: p.verify === 'ok' ? 'st-ok' : p.verify === 'failed' ? 'st-bad' : 'st-unknown', keep: p.keep_reason.join(', ') || '—', ok: p.status === 'ok',
  }));
  const t = s.last_test_restore;
  const pause = v.pause ?? s.paused;
  const win = windowText(v.window ?? (s.window ? { open: s.window.open, text: s.window.text, ...(s.window.next_start ? { nextStart: s.window.next_start } : {}) } : undefined), tz);
  const newestOk = s.restore_points.filter((p) => p.status === 'ok').sort((a, b) => (a.time < b.time ? 1 : -1))[0]?.id;
  return {
    vm: s.vm, path: `/ui/vms/${encodeURIComponent(s.vm)}`, restoreHref: `/ui/restore?vm=${encodeURIComponent(s.vm)}`, hypervisor: s.hypervisor, policy: s.policy ?? '—', observed: s.observed, state: vmState(s, pause, tz),
    lastBackup: lastBackupText(s, now, tz).text, nextDue: s.next_due ? localDateTime(s.next_due, tz) : '—',
    ...(win ? { window: win } : {}),
    ...(pause ? { pause: { until: localDateTime(pause.until, tz), reason: pause.reason, by: pause.by } } : {}),
    cells: calendarCells(s.history, now, tz), points, ...(newestOk ? { newestOk } : {}),
    runs: v.runs.map((r) => runRow(r, tz)),
    ...(t ? { testRestore: { time: localDateTime(t.time, tz), backupId: t.backup_id, result: t.result === 'ok' ? 'booted' : 'failed', cls: t.result === 'ok' ? 'st-ok' : 'st-bad', probe: t.probe ?? '—', ...(t.screenshot ? { screenshot: t.screenshot } : {}) } } : {}),
    actions: v.actions.map((a) => ({ ...a, href: `/ui/actions/${encodeURIComponent(a.id)}`, progress: actionProgress(a) })),
  };
}
