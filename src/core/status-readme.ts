// `status/README.md`: what the git host shows on the status directory's page. A fleet summary,
// the VMs that need attention, then a 30-day calendar (one row per VM, one cell per day), one
// table per hypervisor so a few hundred VMs stay readable and the day header repeats.
import type { DayOutcome, FleetSummary, VmStatus } from './status-model.js';
import { dayAge, dayLabel, dayWindow, humanBytes, humanDuration, localDateTime, localDay } from './status-format.js';
import { byString, notReady } from './status-yaml.js';

export const CALENDAR_ICON: Record<DayOutcome, string> = { ok: '✅', failed: '❌', warning: '⚠️', none: '·' };

export interface ReadmeOptions { timeZone: string; days: number }

/** A table cell from free text: no pipes, no newlines, no HTML, bounded length. */
function cell(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

function readyCell(s: VmStatus, tz: string): string {
  const ready = s.conditions.find((c) => c.type === 'Ready');
  const stalled = s.conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  const head = !ready ? 'unknown: NoStatus' : ready.status === 'True' ? `yes: ${cell(ready.reason)}` : ready.status === 'False' ? `**no**: ${cell(ready.reason)}` : `unknown: ${cell(ready.reason)}`;
  const p = s.paused;
  const pause = p ? `; ⏸ paused until ${localDateTime(p.until, tz)} (${cell(p.reason)}, by ${cell(p.by)})` : '';
  return `${stalled ? `${head}, **stalled**: ${cell(stalled.reason)}` : head}${pause}`;
}

/** Next due, and when a closed backup window opens next (a backup may only start inside it). */
function dueCell(s: VmStatus, tz: string): string {
  const due = s.next_due ? localDateTime(s.next_due, tz) : '—';
  const w = s.window;
  return w && !w.open ? `${due} (window opens ${w.next_start ? localDateTime(w.next_start, tz) : 'never'})` : due;
}

function lastBackupCell(s: VmStatus, now: string, tz: string): string {
  const b = s.last_backup;
  if (!b) return 'never';
  return b.status === 'ok' ? dayAge(b.time, now, tz) : `${dayAge(b.time, now, tz)} (${b.status})`;
}

function calendarTable(vms: VmStatus[], days: string[], now: string, tz: string): string[] {
  const head = ['VM', 'Ready', 'Last backup', 'Next due', ...days.map((d, i) => dayLabel(d, i === 0))];
  const lines = [`| ${head.join(' | ')} |`, `|${['---', '---', '---', '---', ...days.map(() => ':-:')].join('|')}|`];
  for (const s of vms) {
    const byDay = new Map(s.history.map((h) => [h.day, h.outcome]));
    const cells = days.map((d) => CALENDAR_ICON[byDay.get(d) ?? 'none']);
    lines.push(`| ${s.vm} | ${readyCell(s, tz)} | ${lastBackupCell(s, now, tz)} | ${dueCell(s, tz)} | ${cells.join(' | ')} |`);
  }
  return lines;
}

function summaryLines(summary: FleetSummary): string[] {
  const t = summary.totals;
  const out = [`**${t.vms} VMs**: ${t.ready} ready, ${t.failed} failed, ${t.overdue} overdue, ${t.unknown} unknown, ${t.missing} missing; ${t.unprotected} unprotected`, ''];
  const rev = summary.last_applied_revision ? `\`${summary.last_applied_revision.slice(0, 12)}\`` : 'none yet';
  out.push(`- Policy revision applied: ${rev}${summary.last_attempted_revision && summary.last_attempted_revision !== summary.last_applied_revision ? ` (last attempted: \`${summary.last_attempted_revision.slice(0, 12)}\`)` : ''}`);
  for (const e of summary.last_attempt_errors) out.push(`  - error: ${cell(e)}`);
  const b = summary.backups_last_7d;
  out.push(`- Last 7 days: ${b.ok} backups ok, ${b.failed} failed, ${humanBytes(b.size_bytes)} written in ${humanDuration(b.duration_ms)}`);
  if (summary.storage) out.push(`- Backup storage: ${summary.storage.percent}% used (${humanBytes(summary.storage.used_bytes)} of ${humanBytes(summary.storage.total_bytes)})`);
  out.push(`- Generated: ${summary.generated_at}`);
  return out;
}

function attentionLines(statuses: VmStatus[]): string[] {
  const bad = notReady(statuses);
  if (!bad.length) return [];
  const lines = ['', '## Needs attention', '', '| VM | Hypervisor | Ready | Reason | Message |', '|---|---|---|---|---|'];
  for (const b of bad) lines.push(`| ${b.vm} | ${b.hypervisor} | ${b.status} | ${cell(b.reason)} | ${cell(b.message)} |`);
  return lines;
}

/** At most this many test-restores in the README (newest first); every VM's own file has its last one. */
export const README_TEST_RESTORES = 20;

/**
 * The newest test-restores: result, the probe's evidence, and the path of the console screenshot.
 * The PNG stays on backup storage (not in git), so its path is shown rather than linked.
 */
function testRestoreLines(statuses: VmStatus[], tz: string): string[] {
  const tested = statuses.filter((s) => s.last_test_restore).sort((a, b) => byString(b.last_test_restore!.time, a.last_test_restore!.time) || byString(a.vm, b.vm));
  if (!tested.length) return [];
  const more = tested.length - README_TEST_RESTORES;
  const lines = ['', '## Test restores', '', `The newest boot tests${more > 0 ? ` (${more} older ones are in \`status/vms/<vm>.yaml\`)` : ''}; each screenshot is a PNG beside its backup on the backup storage.`, '', '| When | VM | Backup | Result | Evidence | Screenshot |', '|---|---|---|---|---|---|'];
  for (const s of tested.slice(0, README_TEST_RESTORES)) {
    const t = s.last_test_restore!;
    const shot = t.screenshot ? `\`${cell(t.screenshot).replace(/`/g, "'")}\`` : '—';
    lines.push(`| ${localDateTime(t.time, tz)} | ${s.vm} | ${cell(t.backup_id)} | ${t.result === 'ok' ? '✅ booted' : '❌ **failed**'} | ${t.probe ? cell(t.probe) : '—'} | ${shot} |`);
  }
  return lines;
}

function otherLines(summary: FleetSummary): string[] {
  const out: string[] = [];
  if (summary.missing.length) out.push('', '## Missing', '', 'Declared in the policy repository but not found on their hypervisor:', '', [...summary.missing].sort(byString).join(', '));
  if (summary.unprotected.length) {
    out.push('', '## Unprotected', '', 'Running on a hypervisor but not declared in the policy repository:', '');
    const byHv = new Map<string, string[]>();
    for (const u of summary.unprotected) byHv.set(u.hypervisor, [...(byHv.get(u.hypervisor) ?? []), u.vm]);
    for (const hv of [...byHv.keys()].sort(byString)) out.push(`- ${hv}: ${(byHv.get(hv) ?? []).sort(byString).join(', ')}`);
  }
  return out;
}

/** The whole README; `now` only picks the calendar's last day and the day-granular ages. */
export function renderReadme(statuses: VmStatus[], summary: FleetSummary, now: string, opts: ReadmeOptions): string {
  const days = dayWindow(localDay(now, opts.timeZone), opts.days);
  const legend = `Legend: ${CALENDAR_ICON.ok} backup succeeded · ${CALENDAR_ICON.failed} backup failed · ${CALENDAR_ICON.warning} succeeded with warnings · ${CALENDAR_ICON.none} no backup that day. Days and times are in ${opts.timeZone}; the last column is ${days[days.length - 1] ?? ''}.`;
  const lines = ['# Backup status', '', '<!-- Written by vmbackup after each run; edits here are overwritten. -->', '', ...summaryLines(summary), ...attentionLines(statuses)];
  lines.push('', `## Last ${opts.days} days`, '', legend);
  const byHv = new Map<string, VmStatus[]>();
  for (const s of statuses) {
    const list = byHv.get(s.hypervisor);
    if (list) list.push(s);
    else byHv.set(s.hypervisor, [s]);
  }
  for (const hv of [...byHv.keys()].sort(byString)) {
    const vms = (byHv.get(hv) ?? []).sort((a, b) => byString(a.vm, b.vm));
    lines.push('', `### ${cell(hv)} (${vms.length} VM${vms.length === 1 ? '' : 's'})`, '', ...calendarTable(vms, days, now, opts.timeZone));
  }
  if (!statuses.length) lines.push('', 'No VMs are backed up yet.');
  lines.push(...testRestoreLines(statuses, opts.timeZone), ...otherLines(summary), '');
  return lines.join('\n');
}
