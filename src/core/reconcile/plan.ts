// plan(desired, observed, now) → actions. Pure: no I/O, no clock, no randomness. The executor
// runs exactly these actions and refuses the plan if the revision it was made for has moved on.
import type { DesiredState, Vm } from '../model.js';
import { decideRetention } from '../retention.js';
import { dueState, retryAfter } from './due.js';
import { pickTestRestores } from './pick-tests.js';
import type { Action, Observed, ReconcileOptions, ReconcilePlan } from './types.js';
import { massPruneRefused } from '../prune-guard.js';
import { activePause } from '../pause/pause.js';
import { backupHold } from '../schedule/hold.js';
import { windowState } from '../schedule/window.js';

const DAY = 86_400_000;

export const DEFAULT_RECONCILE_OPTIONS: ReconcileOptions = { maxPruneShare: 0.25, allowMassPrune: false, removedGraceDays: 30, maxVerifiesPerPass: 10 };

export function planReconcile(desired: DesiredState, revision: string, observed: Observed, now: string, o: ReconcileOptions = DEFAULT_RECONCILE_OPTIONS): ReconcilePlan {
  const s = desired.settings;
  const actions: Action[] = [];
  const notes: ReconcilePlan['vmNotes'] = {};
  const managed = new Set(desired.vms.map((v) => v.name));
  const usable: Vm[] = [];
  // VMs of one policy share its rules (one object): their window is worked out once per pass.
  const windows = new Map<NonNullable<Vm['window']>, ReturnType<typeof windowState>>();
  const windowOf = (r: NonNullable<Vm['window']>): ReturnType<typeof windowState> => {
    if (!windows.has(r)) windows.set(r, windowState(r, now, s.timeZone));
    return windows.get(r);
  };

  for (const hv of Object.keys(observed.hosts).sort()) {
    const h = observed.hosts[hv]!;
    if (!h.reachable) actions.push({ kind: 'report', what: 'host-unreachable', subject: hv, message: h.error ?? 'unreachable' });
    for (const dom of Object.keys(h.domains).sort()) {
      if (!managed.has(dom)) actions.push({ kind: 'report', what: 'unprotected', subject: `${hv}/${dom}`, message: `VM ${dom} runs on ${hv} but is in no policy` });
    }
  }

  for (const vm of desired.vms) {
    const host = observed.hosts[vm.hypervisor];
    const stored = observed.storage[vm.name];
    const points = stored?.points ?? [];
    const unknown = !host || !host.reachable;
    const missing = !unknown && !(vm.name in host.domains);
    const due = dueState(vm, points, now, s.timeZone, s.overdueGraceHours, s.scheduler);
    const paused = vm.enabled ? activePause(observed.pauses ?? {}, vm.name, now) : undefined;
    const window = vm.enabled && vm.window ? windowOf(vm.window) : undefined;
    notes[vm.name] = { overdue: vm.enabled && due.overdue, ...(due.nextDue ? { nextDue: due.nextDue } : {}), unknown, missing, ...(paused ? { paused } : {}), ...(window ? { window } : {}) };
    if (!vm.enabled) continue;
    if (missing) actions.push({ kind: 'report', what: 'missing', subject: vm.name, message: `VM ${vm.name} is in the repo but not on ${vm.hypervisor}` });
    if (unknown || missing) continue;
    const leftovers = host.leftoverOverlays[vm.name] ?? [];
    if (leftovers.length || stored?.partials.length) {
      actions.push({ kind: 'cleanup', vm: vm.name, hypervisor: vm.hypervisor, reason: [...leftovers.map((x) => `overlay ${x}`), ...(stored?.partials ?? []).map((p) => `${p}.partial`)].join(', ') });
    }
    usable.push(vm);
    const retry = retryAfter(observed.runs[vm.name]?.lastBackup, revision);
    if (!due.overdue) continue;
    // A pause or the window holds scheduled and catch-up backups (and their retries); verify, test-restore and prune go on.
    const hold = backupHold({ pause: paused, rules: vm.window, now, retry, timeZone: s.timeZone });
    if (hold) actions.push({ kind: 'report', what: 'held', subject: vm.name, message: `backup of ${vm.name} held: ${hold.text}` });
    else if (!retry || retry <= now) actions.push({ kind: 'backup', vm: vm.name, hypervisor: vm.hypervisor, priority: vm.priority, reason: due.never ? 'never' : 'overdue' });
  }

  const prunes = pruneActions(desired, observed, now, o);
  const pruned = new Set(prunes.flatMap((a) => (a.kind === 'prune' ? [`${a.vm}/${a.id}`] : [])));
  actions.push(...prunes);
  actions.push(...verifyActions(usable, observed, now, o).filter((a) => a.kind !== 'verify' || !pruned.has(`${a.vm}/${a.id}`)));
  for (const vm of pickTestRestores(usable, observed.runs, now)) {
    const newest = [...(observed.storage[vm.name]?.points ?? [])].filter((p) => p.status === 'ok' && p.verify !== 'failed').sort((a, b) => (a.time < b.time ? 1 : -1))[0];
    if (newest) actions.push({ kind: 'test-restore', vm: vm.name, hypervisor: vm.hypervisor, id: newest.id, reason: `every ${vm.testRestore.everyDays} days${vm.testRestore.sample ? `, ${vm.testRestore.sample} per period` : ''}` });
  }
  return { revision, observedAt: observed.at, now, actions: orderActions(actions), vmNotes: notes };
}

/** Retention per VM, with the mass-prune guard per VM and for the whole pass. */
function pruneActions(desired: DesiredState, observed: Observed, now: string, o: ReconcileOptions): Action[] {
  const out: Action[] = [];
  const refused: Action[] = [];
  const byName = new Map(desired.vms.map((v) => [v.name, v]));
  let total = 0;
  for (const name of Object.keys(observed.storage).sort()) {
    const st = observed.storage[name]!;
    total += st.points.length;
    const vm = byName.get(name);
    const host = observed.hosts[st.hypervisor];
    if (host && !host.reachable) continue; // nothing is pruned on a host we cannot see
    let retention = vm?.retention;
    if (!vm) {
      const gone = observed.removed[name];
      if (!gone || Date.parse(now) - Date.parse(gone.since) < o.removedGraceDays * DAY) {
        out.push({ kind: 'report', what: 'removed-grace', subject: name, message: `${name} left the repo${gone ? ` on ${gone.since}` : ''}; its ${st.points.length} backups are kept for ${o.removedGraceDays} days` });
        continue;
      }
      retention = gone.retention;
    }
    const decisions = decideRetention(st.points, retention!, { now, timeZone: desired.settings.timeZone });
    const prunes = decisions.filter((d) => d.action === 'prune');
    if (!prunes.length) continue;
    if (massPruneRefused(prunes.length, st.points.length, o)) {
      refused.push({ kind: 'report', what: 'prune-refused', subject: name, message: `retention would delete ${prunes.length} of ${name}'s ${st.points.length} backups (more than ${Math.round(o.maxPruneShare * 100)}%); set settings.allow_mass_prune: true to allow it` });
      continue;
    }
    for (const d of prunes) out.push({ kind: 'prune', vm: name, hypervisor: st.hypervisor, id: d.id, reasons: d.reasons });
  }
  const pruneCount = out.filter((a) => a.kind === 'prune').length;
  if (massPruneRefused(pruneCount, total, o)) {
    return [...out.filter((a) => a.kind !== 'prune'), ...refused, { kind: 'report', what: 'prune-refused', subject: '(fleet)', message: `this pass would delete ${pruneCount} of ${total} backups (more than ${Math.round(o.maxPruneShare * 100)}%); nothing pruned; set settings.allow_mass_prune: true to allow it` }];
  }
  return [...out, ...refused];
}

/** Points whose last verification is older than the policy's verify period, oldest first, capped per pass. */
function verifyActions(vms: readonly Vm[], observed: Observed, now: string, o: ReconcileOptions): Action[] {
  const t = Date.parse(now);
  const cands: { vm: Vm; id: string; at: number }[] = [];
  for (const vm of vms) {
    for (const p of observed.storage[vm.name]?.points ?? []) {
      if (p.status !== 'ok' || p.verify === 'failed') continue;
      const at = Date.parse(p.verifiedAt ?? p.time);
      if (t - at >= vm.verify.everyDays * DAY) cands.push({ vm, id: p.id, at });
    }
  }
  cands.sort((a, b) => a.at - b.at || a.vm.name.localeCompare(b.vm.name));
  return cands.slice(0, o.maxVerifiesPerPass).map((c) => ({ kind: 'verify', vm: c.vm.name, hypervisor: c.vm.hypervisor, id: c.id, reason: `last verified ${new Date(c.at).toISOString()}, policy says every ${c.vm.verify.everyDays} days` }));
}

const RANK: Record<Action['kind'], number> = { report: 0, cleanup: 1, backup: 2, verify: 3, 'test-restore': 4, prune: 5 };

/** Cleanup before backups, backups by priority, prunes last (after the new backups landed). */
function orderActions(a: Action[]): Action[] {
  return a.map((x, i) => ({ x, i })).sort((p, q) => RANK[p.x.kind] - RANK[q.x.kind] || (p.x.kind === 'backup' && q.x.kind === 'backup' ? p.x.priority - q.x.priority || p.x.vm.localeCompare(q.x.vm) : 0) || p.i - q.i).map((p) => p.x);
}
