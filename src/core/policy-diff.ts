// The pull-request plan: what a policy change would do, as data (Terraform's plan, for backups).
// Pure: both desired states, the recorded restore points, the rendered files and `now` come in.
import type { DesiredState, Diagnostic, RenderedFile, Retention, RestorePoint, Settings, Vm } from './model.js';
import { massPruneRefused, passPrunes, type PruneShare } from './prune-guard.js';
import { decideRetention } from './retention.js';
import { parseDuration } from './retention-duration.js';
import { nextRuns } from './schedule.js';
import { unifiedDiff } from './text-diff.js';
import { safetyChanges, type SafetyChange } from './safety-diff.js';

export interface FieldChange { field: string; before: unknown; after: unknown }
export interface PruneChange { vm: string; id: string; reasons: string[] }
/** The mass-prune guard would refuse the VM's next prune: `prunes` of its `points` recorded restore points. */
export interface PruneRefusal { prunes: number; points: number; maxPercent: number }
/** The guard's pass-wide rule would refuse the next pass: `prunes` of all `points` of `vms` VMs with recorded points. */
export interface PassRefusal extends PruneRefusal { vms: number }
export interface RetentionChange { vm: string; before: Retention; after: Retention; wouldPrune: PruneChange[]; wouldKeep: string[]; /** Points the head keeps only because a kept point depends on them (`base of <id>`). */ bases: PruneChange[]; /** It keeps less than before (a count lowered or dropped, keep_within shortened) or prunes a recorded point. */ cut: boolean; refused?: PruneRefusal }
export interface ScheduleChange { vm: string; before: string | null; after: string | null; nextRuns: string[] }

export interface PolicyPlan {
  base: string;
  head: string;
  now: string;
  /** settings.time_zone of the head, for printing run times as the operators read them. */
  timeZone: string;
  gained: string[];
  lost: string[];
  vmChanges: { vm: string; changes: FieldChange[] }[];
  schedules: ScheduleChange[];
  retention: RetentionChange[];
  /** The daemon's pass-wide mass-prune rule would refuse the next pass (nothing at all pruned). */
  passRefused?: PassRefusal;
  hypervisors: { added: string[]; removed: string[]; changed: string[] };
  policies: { added: string[]; removed: string[]; changed: string[] };
  renderDiff: { path: string; patch: string }[];
  /** Changes that weaken a safety net (see safety-diff.ts), printed first. */
  safety: SafetyChange[];
  /** The head's validation warnings (not changes: they do not set hasChanges). */
  warnings: Diagnostic[];
  hasChanges: boolean;
}

export interface PlanSide {
  label: string;
  desired: DesiredState;
  rendered: RenderedFile[];
  /** The revision's raw `templates/<name>` overrides (render and notification templates); none if absent. */
  templateOverrides?: ReadonlyMap<string, string>;
}

export interface PlanInput {
  base: PlanSide;
  head: PlanSide;
  /** Recorded restore points by VM: those whose retention changes, and every other VM for the pass-wide rule. */
  restorePoints: ReadonlyMap<string, readonly RestorePoint[]>;
  now: string;
  nextRunCount?: number;
  /** The head's validation warnings, listed in the plan. */
  warnings?: readonly Diagnostic[];
}

const protectedVms = (d: DesiredState): Map<string, Vm> => new Map(d.vms.filter((v) => v.enabled).map((v) => [v.name, v]));
/** Equal as JSON (what the plan prints): a walk over plain data, JSON.stringify for anything else. */
export const sameJson = (a: unknown, b: unknown): boolean => plainEqual(a, b) ?? JSON.stringify(a) === JSON.stringify(b);
const same = sameJson;

/** Whether two values serialise to the same JSON, or undefined when only JSON.stringify can tell. */
function plainEqual(a: unknown, b: unknown): boolean | undefined {
  const t = typeof a;
  if (t !== typeof b || t === 'function' || t === 'symbol' || t === 'undefined' || t === 'bigint') return undefined;
  if (a === b) return true;
  if (t === 'string' || t === 'boolean') return false;
  if (t !== 'object' || a === null || b === null) return undefined; // NaN and Infinity print as null
  const pa = Object.getPrototypeOf(a);
  if (pa !== Object.getPrototypeOf(b) || (pa !== Object.prototype && pa !== Array.prototype)) return undefined;
  if (pa === Array.prototype) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      const r = plainEqual(x[i], y[i]);
      if (r !== true) return r;
    }
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const kx = Object.keys(x);
  const ky = Object.keys(y);
  if (kx.length !== ky.length) return undefined;
  for (let i = 0; i < kx.length; i++) {
    const k = kx[i]!;
    if (k !== ky[i]) return undefined;
    const r = plainEqual(x[k], y[k]);
    if (r !== true) return r;
  }
  return true;
}

const COMPARED: (keyof Vm)[] = ['hypervisor', 'policy', 'method', 'priority', 'preBackupCommands', 'disks', 'allowOffline', 'verify', 'testRestore', 'compression', 'labels', 'incremental'];

function namedDiff<T extends { name: string; source?: unknown }>(a: readonly T[], b: readonly T[]): { added: string[]; removed: string[]; changed: string[] } {
  const strip = (x: T): unknown => ({ ...x, source: undefined });
  const am = new Map(a.map((x) => [x.name, x]));
  const bm = new Map(b.map((x) => [x.name, x]));
  return {
    added: [...bm.keys()].filter((k) => !am.has(k)).sort(),
    removed: [...am.keys()].filter((k) => !bm.has(k)).sort(),
    changed: [...bm.keys()].filter((k) => am.has(k) && !same(strip(am.get(k)!), strip(bm.get(k)!))).sort(),
  };
}

/** Restore points a retention change would newly prune (pruned after, kept before). */
function pruneDelta(vm: string, points: readonly RestorePoint[], before: Retention, after: Retention, now: string, timeZone: string): { wouldPrune: PruneChange[]; wouldKeep: string[]; bases: PruneChange[]; prunes: number } {
  const beforeDecisions = new Map(decideRetention(points, before, { now, timeZone }).map((d) => [d.id, d]));
  const wouldPrune: PruneChange[] = [];
  const wouldKeep: string[] = [];
  const bases: PruneChange[] = [];
  let prunes = 0;
  for (const d of decideRetention(points, after, { now, timeZone })) {
    if (d.action === 'prune') prunes++;
    const was = beforeDecisions.get(d.id)?.action ?? 'keep';
    if (d.action === 'prune' && was === 'keep') wouldPrune.push({ vm, id: d.id, reasons: d.reasons });
    if (d.action === 'keep' && was === 'prune') wouldKeep.push(d.id);
    if (d.action === 'keep' && d.reasons.every((r) => r.startsWith('base of '))) bases.push({ vm, id: d.id, reasons: d.reasons });
  }
  return { wouldPrune: wouldPrune.sort((x, y) => x.id.localeCompare(y.id)), wouldKeep: wouldKeep.sort(), bases: bases.sort((x, y) => x.id.localeCompare(y.id)), prunes };
}

function diffRendered(base: readonly RenderedFile[], head: readonly RenderedFile[], baseLabel: string, headLabel: string): { path: string; patch: string }[] {
  const bm = new Map(base.map((f) => [f.path, f.content]));
  const hm = new Map(head.map((f) => [f.path, f.content]));
  const paths = [...new Set([...bm.keys(), ...hm.keys()])].sort();
  const out: { path: string; patch: string }[] = [];
  for (const p of paths) {
    const a = bm.get(p) ?? '';
    const b = hm.get(p) ?? '';
    if (a === b) continue;
    out.push({ path: p, patch: unifiedDiff(`a/${p}`, `b/${p}`, a, b, baseLabel, headLabel, 3) });
  }
  return out;
}

/** VMs protected in both states whose retention changes: the only ones whose restore points the plan reads. */
export function retentionChangedVms(base: DesiredState, head: DesiredState): Set<string> {
  const bv = protectedVms(base);
  const out = new Set<string>();
  for (const [name, after] of protectedVms(head)) {
    const before = bv.get(name);
    if (before && !same(before.retention, after.retention)) out.add(name);
  }
  return out;
}

const COUNTS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
const withinMs = (r: Retention): number => (r.keepWithin === undefined ? 0 : (parseDuration(r.keepWithin) as { ms?: number }).ms ?? 0);

/** Whether a retention keeps less than another by some rule (whatever the recorded points). */
function keepsLess(before: Retention, after: Retention): boolean {
  return COUNTS.some((k) => (after[k] ?? 0) < (before[k] ?? 0)) || withinMs(after) < withinMs(before);
}

/** What the daemon's guard (prune-guard.ts) would say about the VM's next prune under the head's settings. */
function refusal(prunes: number, points: number, s: Pick<Settings, 'allowMassPrune' | 'maxPruneShare'>): { refused?: PruneRefusal } {
  return massPruneRefused(prunes, points, s) ? { refused: { prunes, points, maxPercent: Math.round(s.maxPruneShare * 100) } } : {};
}

const countPrunes = (points: readonly RestorePoint[], r: Retention, now: string, timeZone: string): number =>
  decideRetention(points, r, { now, timeZone }).filter((d) => d.action === 'prune').length;

/** What the daemon's pass-wide rule (prune-guard.ts) would say about the next pass under the head's settings. */
function passRefusal(shares: readonly PruneShare[], s: Pick<Settings, 'allowMassPrune' | 'maxPruneShare'>): PassRefusal | undefined {
  const p = passPrunes(shares, s);
  return p.refused ? { prunes: p.prunes, points: p.points, vms: shares.filter((x) => x.points > 0).length, maxPercent: Math.round(s.maxPruneShare * 100) } : undefined;
}

export function planPolicyChange(input: PlanInput): PolicyPlan {
  const { base, head, now } = input;
  const tz = head.desired.settings.timeZone;
  const bv = protectedVms(base.desired);
  const hv = protectedVms(head.desired);
  const gained = [...hv.keys()].filter((k) => !bv.has(k)).sort();
  const lost = [...bv.keys()].filter((k) => !hv.has(k)).sort();
  const vmChanges: PolicyPlan['vmChanges'] = [];
  const schedules: ScheduleChange[] = [];
  // A new time zone or scheduler moves every run although no schedule text changed.
  const clockMoved = base.desired.settings.timeZone !== tz || base.desired.settings.scheduler !== head.desired.settings.scheduler;
  const retention: RetentionChange[] = [];
  const shares: PruneShare[] = []; // changed VMs' next prune under the head, for the pass-wide rule
  const unchanged: { points: readonly RestorePoint[]; retention: Retention }[] = [];
  for (const [name, after] of [...hv.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const before = bv.get(name);
    const changes = before ? COMPARED.filter((f) => !same(before[f], after[f])).map((f) => ({ field: f, before: before[f], after: after[f] })) : [];
    if (changes.length) vmChanges.push({ vm: name, changes });
    if (!before || before.schedule.spec !== after.schedule.spec || clockMoved) {
      schedules.push({ vm: name, before: before?.schedule.spec ?? null, after: after.schedule.spec, nextRuns: nextRuns(after.schedule, now, input.nextRunCount ?? 3, tz, head.desired.settings.scheduler) });
    }
    const points = input.restorePoints.get(name) ?? [];
    if (before && !same(before.retention, after.retention)) {
      const { prunes, ...delta } = pruneDelta(name, points, before.retention, after.retention, now, tz);
      retention.push({ vm: name, before: before.retention, after: after.retention, ...delta, cut: delta.wouldPrune.length > 0 || keepsLess(before.retention, after.retention), ...refusal(prunes, points.length, head.desired.settings) });
      shares.push({ prunes, points: points.length });
    } else if (points.length) unchanged.push({ points, retention: after.retention });
  }
  // Only a retention change can move the pass; then the unchanged VMs' own prunes and points count too.
  const passRefused = retention.length ? passRefusal([...shares, ...unchanged.map((u) => ({ prunes: countPrunes(u.points, u.retention, now, tz), points: u.points.length }))], head.desired.settings) : undefined;
  for (const name of lost) schedules.push({ vm: name, before: bv.get(name)!.schedule.spec, after: null, nextRuns: [] });
  const hypervisors = namedDiff(base.desired.hypervisors, head.desired.hypervisors);
  const policies = namedDiff(base.desired.policies, head.desired.policies);
  const renderDiff = diffRendered(base.rendered, head.rendered, base.label, head.label);
  const none = new Map<string, string>();
  const safety = safetyChanges({ desired: base.desired, templateOverrides: base.templateOverrides ?? none }, { desired: head.desired, templateOverrides: head.templateOverrides ?? none });
  const hasChanges = safety.length + gained.length + lost.length + vmChanges.length + schedules.length + retention.length + renderDiff.length
    + hypervisors.added.length + hypervisors.removed.length + hypervisors.changed.length
    + policies.added.length + policies.removed.length + policies.changed.length > 0
    || !same({ ...base.desired.settings, source: null }, { ...head.desired.settings, source: null });
  return { base: base.label, head: head.label, now, timeZone: tz, gained, lost, vmChanges, schedules, retention, ...(passRefused ? { passRefused } : {}), hypervisors, policies, renderDiff, safety, warnings: [...(input.warnings ?? [])], hasChanges };
}
