// Prints a PolicyPlan for people: plain text for terminals, Markdown for a PR comment.
import type { PassRefusal, PolicyPlan, RetentionChange } from './policy-diff.js';
import type { Diagnostic, Retention } from './model.js';
import type { SafetyChange } from './safety-diff.js';
import type { VmNote } from './reconcile/types.js';
import { escapeTerminal } from './terminal-text.js';

const RET_KEYS: [keyof Retention, string][] = [['keepLast', 'keep_last'], ['keepHourly', 'keep_hourly'], ['keepDaily', 'keep_daily'], ['keepWeekly', 'keep_weekly'], ['keepMonthly', 'keep_monthly'], ['keepYearly', 'keep_yearly'], ['keepWithin', 'keep_within']];

export function retentionText(r: Retention): string {
  const parts = RET_KEYS.filter(([k]) => r[k] !== undefined).map(([k, n]) => `${n}=${String(r[k])}`);
  return parts.length ? parts.join(' ') : '(none)';
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
const n = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** `Sat 2026-11-28 12:00 America/New_York`: run times as the people reading the PR think of them. */
export function localTime(iso: string, timeZone: string): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timeZone}`;
}

function summaryLine(p: PolicyPlan): string {
  const pruned = p.retention.reduce((n, r) => n + r.wouldPrune.length, 0);
  return `${n(p.gained.length, 'VM')} gaining protection, ${p.lost.length} losing it, ${p.vmChanges.length} otherwise changed, ${n(p.schedules.length, 'schedule change')}, ${n(pruned, 'restore point')} to prune, ${n(p.renderDiff.length, 'rendered file')} changed`;
}

/** A Markdown code span that holds any text (a fence longer than its longest backtick run). */
export function mdCode(s: string): string {
  const fence = '`'.repeat(Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  return fence.length > 1 || s.startsWith(' ') || s.endsWith(' ') ? `${fence} ${s} ${fence}` : `${fence}${s}${fence}`;
}

function safetyText(c: SafetyChange, code: (s: string) => string): string {
  if (c.before === null && c.after === null) return `${code(c.subject)}: ${c.why}`;
  const change = c.before === null ? `set to ${code(c.after!)}` : c.after === null ? `removed (was ${code(c.before)})` : `${code(c.before)} → ${code(c.after)}`;
  return `${code(c.subject)} ${change}: ${c.why}`;
}

/** `would be refused: prunes 6 of 8 points of prod-db-01 (…)`: the daemon's mass-prune guard, said before the merge. */
function refusalText(r: RetentionChange, code: (s: string) => string): string {
  const x = r.refused!;
  return `would be refused: prunes ${x.prunes} of ${x.points} points of ${code(r.vm)} (the mass-prune guard stops a pass deleting more than ${x.maxPercent}% of a VM's points; the daemon will not prune it until settings.allow_mass_prune: true or a smaller cut)`;
}

/** The pass-wide rule: `would be refused: this pass prunes 7 of 21 points of 7 VMs (…)`. */
function passRefusalText(x: PassRefusal): string {
  return `would be refused: this pass prunes ${x.prunes} of ${x.points} points of ${x.vms} VMs (the mass-prune guard stops a pass deleting more than ${x.maxPercent}% of all points; the daemon will prune nothing at all until settings.allow_mass_prune: true or a smaller cut)`;
}

const where = (d: Diagnostic): string => `${d.file}:${d.line}:${d.col}`;
const cutMark = (r: RetentionChange): string => (r.cut ? '⚠️ ' : '');

function pruneLines(r: RetentionChange): string[] {
  return r.wouldPrune.map((x) => `${x.id} (${x.reasons.join('; ')})`);
}

/** Points kept only as the base of a kept incremental (chain-aware retention). */
function baseLines(r: RetentionChange): string[] {
  return (r.bases ?? []).map((x) => `${x.id} (${x.reasons.join('; ')})`);
}

/** The head's windows and the pauses in force at plan time, per VM (only VMs that have either). */
export interface PlanHolds { now: string; timeZone: string; notes: Record<string, Pick<VmNote, 'paused' | 'window'>> }

function windowWords(w: NonNullable<VmNote['window']>, tz: string): string {
  return w.open ? 'open now' : w.nextStart ? `next start ${localTime(w.nextStart, tz)}` : 'no start allowed within the next years';
}

/** `Windows and pauses at …`: each VM's window and its next start inside it, each pause with until and reason. */
function holdsText(h: PlanHolds | undefined): string {
  const vms = Object.keys(h?.notes ?? {}).sort();
  if (!h || !vms.length) return '';
  const out = ['', `Windows and pauses at ${localTime(h.now, h.timeZone)}:`];
  for (const vm of vms) {
    const n = h.notes[vm]!;
    if (n.paused) out.push(`‖ ${vm}: paused until ${localTime(n.paused.until, h.timeZone)} by ${n.paused.by}: ${n.paused.reason}`);
    if (n.window) out.push(`◷ ${vm}: ${n.window.text}; ${windowWords(n.window, h.timeZone)}`);
  }
  return out.join('\n') + '\n';
}

function holdsMarkdown(h: PlanHolds | undefined): string {
  const vms = Object.keys(h?.notes ?? {}).sort();
  if (!h || !vms.length) return '';
  const cell = (t: string): string => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out = ['', `#### Windows and pauses (at ${localTime(h.now, h.timeZone)})`, '', '| VM | window | next start | paused |', '|---|---|---|---|'];
  for (const vm of vms) {
    const n = h.notes[vm]!;
    out.push(`| ${mdCode(vm)} | ${n.window ? cell(n.window.text) : '—'} | ${n.window ? windowWords(n.window, h.timeZone) : '—'} | ${n.paused ? `⏸️ until ${localTime(n.paused.until, h.timeZone)} by ${cell(n.paused.by)}: ${cell(n.paused.reason)}` : '—'} |`);
  }
  return out.join('\n') + '\n';
}

/** Plain text for a terminal; repository text is escaped (see terminal-text.ts). */
export function formatPlanText(p: PolicyPlan, holds?: PlanHolds): string {
  return escapeTerminal(planText(p) + holdsText(holds));
}

function planText(p: PolicyPlan): string {
  const warnings = p.warnings.map((d) => `warning: ${where(d)}: ${d.message} [${d.code}]`);
  if (!p.hasChanges) return [`No changes. ${p.head} protects the same VMs as ${p.base} in the same way.`, ...warnings].join('\n') + '\n';
  const out: string[] = [`Plan: ${p.base} → ${p.head} (at ${p.now})`];
  for (const c of p.safety) out.push(`⚠ safety: ${safetyText(c, (s) => s)}`);
  for (const r of p.retention) if (r.refused) out.push(`⚠ ${refusalText(r, (s) => s)}`);
  if (p.passRefused) out.push(`⚠ ${passRefusalText(p.passRefused)}`);
  out.push(summaryLine(p), '');
  for (const v of p.gained) out.push(`+ ${v}: gains protection`);
  for (const v of p.lost) out.push(`- ${v}: loses protection (its backups stay until the removal grace period ends)`);
  for (const c of p.vmChanges) for (const f of c.changes) out.push(`~ ${c.vm}: ${f.field} ${show(f.before)} → ${show(f.after)}`);
  for (const s of p.schedules) out.push(s.after ? `~ ${s.vm}: schedule ${s.before ?? '(new)'} → ${s.after}; next runs ${s.nextRuns.map((t) => localTime(t, p.timeZone)).join(', ')}` : `~ ${s.vm}: schedule ${s.before ?? '(none)'} → (no longer scheduled)`);
  for (const r of p.retention) {
    out.push(`~ ${r.vm}: ${cutMark(r)}retention ${retentionText(r.before)} → ${retentionText(r.after)}`);
    for (const l of pruneLines(r)) out.push(`    would prune ${l}`);
    for (const id of r.wouldKeep) out.push(`    would now keep ${id}`);
    for (const l of baseLines(r)) out.push(`    keeps ${l}`);
  }
  for (const [k, d] of [['hypervisor', p.hypervisors], ['policy', p.policies]] as const) {
    for (const n of d.added) out.push(`+ ${k} ${n}`);
    for (const n of d.removed) out.push(`- ${k} ${n}`);
    for (const n of d.changed) out.push(`~ ${k} ${n}`);
  }
  if (warnings.length) out.push('', ...warnings);
  for (const f of p.renderDiff) out.push('', f.patch.trimEnd());
  return out.join('\n') + '\n';
}

/** Markdown for a pull-request comment; terminal controls escaped too (CI logs print it). */
export function formatPlanMarkdown(p: PolicyPlan, holds?: PlanHolds): string {
  return escapeTerminal(planMarkdown(p) + holdsMarkdown(holds));
}

function planMarkdown(p: PolicyPlan): string {
  const out: string[] = [`### vmbackup plan: \`${p.base}\` → \`${p.head}\``, ''];
  if (!p.hasChanges) return out.concat('No changes: the same VMs are protected in the same way.', '', ...warningsMarkdown(p.warnings)).join('\n');
  const refused = p.retention.filter((r) => r.refused);
  if (refused.length || p.passRefused) {
    out.push('> [!CAUTION]', ...refused.map((r) => `> ⛔ ${refusalText(r, mdCode)}`), ...(p.passRefused ? [`> ⛔ ${passRefusalText(p.passRefused)}`] : []), '');
  }
  if (p.safety.length) {
    out.push('> [!WARNING]', '> **This change weakens safety checks.** Review these before merging:', '>');
    for (const c of p.safety) out.push(`> - ⚠ safety: ${safetyText(c, mdCode).replace(/\n/g, ' ')}`);
    out.push('');
  }
  out.push(summaryLine(p) + '.', '');
  if (p.gained.length || p.lost.length) {
    out.push('#### Protection', '', '| VM | change |', '|---|---|');
    for (const v of p.gained) out.push(`| \`${v}\` | ✅ gains protection |`);
    for (const v of p.lost) out.push(`| \`${v}\` | ⚠️ loses protection (backups kept for the removal grace period) |`);
    out.push('');
  }
  // Every counted schedule change has its row (a VM that loses protection too).
  if (p.schedules.length) {
    out.push('#### Schedules', '', '| VM | before | after | next runs |', '|---|---|---|---|');
    for (const s of p.schedules) out.push(`| \`${s.vm}\` | ${s.before ?? '—'} | ${s.after ?? '— (no longer scheduled)'} | ${s.nextRuns.length ? s.nextRuns.map((t) => localTime(t, p.timeZone)).join('<br>') : '—'} |`);
    out.push('');
  }
  if (p.retention.length) {
    out.push('#### Retention', '', '| VM | before | after | restore points that would be pruned |', '|---|---|---|---|');
    for (const r of p.retention) out.push(`| ${cutMark(r)}\`${r.vm}\` | ${retentionText(r.before)} | ${retentionText(r.after)} | ${r.wouldPrune.length ? pruneLines(r).map((l) => `🗑️ ${l}`).join('<br>') : 'none'}${baseLines(r).map((l) => `<br>🔗 keeps ${l}`).join('')} |`);
    out.push('');
  }
  if (p.vmChanges.length) {
    out.push('#### Other VM changes', '', '| VM | field | before | after |', '|---|---|---|---|');
    for (const c of p.vmChanges) for (const f of c.changes) out.push(`| \`${c.vm}\` | ${f.field} | \`${show(f.before)}\` | \`${show(f.after)}\` |`);
    out.push('');
  }
  const named = [['Hypervisors', p.hypervisors], ['Policies', p.policies]] as const;
  for (const [title, d] of named) {
    if (!d.added.length && !d.removed.length && !d.changed.length) continue;
    out.push(`#### ${title}`, '', ...d.added.map((n) => `- added \`${n}\``), ...d.removed.map((n) => `- removed \`${n}\``), ...d.changed.map((n) => `- changed \`${n}\``), '');
  }
  out.push(...warningsMarkdown(p.warnings));
  for (const f of p.renderDiff) out.push(`<details><summary>Rendered <code>${f.path}</code></summary>`, '', '```diff', f.patch.trimEnd(), '```', '', '</details>', '');
  return out.join('\n');
}

/** The head's validation warnings as a list (empty when there are none). */
function warningsMarkdown(warnings: readonly Diagnostic[]): string[] {
  if (!warnings.length) return [];
  return ['#### Validation warnings', '', ...warnings.map((d) => `- ${mdCode(where(d))}: ${d.message.replace(/\n/g, ' ')} (${mdCode(d.code)})`), ''];
}

/** The PR comment for a head that does not validate: every problem, so a broken PR still gets a useful comment. */
export function formatInvalidMarkdown(base: string, head: string, diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const cell = (t: string): string => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out = [
    `### vmbackup plan: ${mdCode(base)} → ${mdCode(head)}`, '',
    '> [!CAUTION]', `> **${mdCode(head)} is invalid: ${n(errors, 'error')}, ${n(warnings, 'warning')}.** Nothing was planned: fix these and push again.`, '',
    '| where | severity | problem | code |', '|---|---|---|---|',
    ...diagnostics.map((d) => `| ${mdCode(where(d))} | ${d.severity} | ${cell(d.message)} | ${mdCode(d.code)} |`), '',
  ];
  return escapeTerminal(out.join('\n'));
}
