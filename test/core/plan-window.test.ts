// planReconcile with windows, blackouts and pauses: scheduled and catch-up backups (and their
// retries) are held, with a `held` report saying why and until when; verify, test-restore and
// prune are not held.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicyRepo } from '../../src/core/load.js';
import { planReconcile } from '../../src/core/reconcile/plan.js';
import type { Action, Observed, ObservedPoint } from '../../src/core/reconcile/types.js';
import type { Pause } from '../../src/core/pause/pause.js';

const REPO = `
settings: { time_zone: UTC, overdue_grace_hours: 6 }
hypervisors: [{ name: hv1 }]
policies:
  - name: weekend
    schedule: weekly
    retention: { keep_last: 3 }
    verify: { every: 30d }
    window: { start: "sat 12:00", duration: 30h }
    blackout: [{ from: 2026-12-05, to: 2026-12-06 }]
  - { name: std, schedule: weekly, retention: { keep_last: 3 }, verify: { every: 30d } }
vms:
  - { name: a, hypervisor: hv1, policy: weekend }
  - { name: b, hypervisor: hv1, policy: std }
`;
const load = loadPolicyRepo([{ path: 'r.yaml', text: REPO }]);
assert.deepEqual(load.diagnostics, []);
const desired = load.desired;
const SUN = '2026-11-22T12:00:00Z'; // inside a's window (sat 12:00 for 30h)
const WED = '2026-11-25T12:00:00Z'; // outside it
const pt = (day: string, o: Partial<ObservedPoint> = {}): ObservedPoint => ({ id: `${day}-120000`, time: `${day}T12:00:00Z`, status: 'ok', verify: 'ok', verifiedAt: `${day}T23:00:00Z`, ...o });

function observed(at: string, o: Partial<Observed> = {}): Observed {
  return { at, hosts: { hv1: { reachable: true, domains: { a: 'running', b: 'running' }, leftoverOverlays: {} } }, storage: {}, runs: {}, removed: {}, ...o };
}
const pause = (until: string): Pause => ({ vm: 'a', until, reason: 'kernel upgrade', by: 'cli:alice', at: '2026-11-20T00:00:00Z' });
const show = (a: Action): string => `${a.kind}:${'vm' in a ? a.vm : a.subject}`;
const plan = (o: Observed, now: string) => planReconcile(desired, 'rev1', o, now);

describe('planReconcile: windows', () => {
  test('never backed up, inside the window: backed up; the note says open', () => {
    const p = plan(observed(SUN), SUN);
    assert.deepEqual(p.actions.map(show), ['backup:a', 'backup:b']);
    assert.deepEqual(p.vmNotes.a!.window, { open: true, text: 'window sat 12:00 for 30h; blackout 2026-12-05..2026-12-06' });
    assert.equal(p.vmNotes.b!.window, undefined, 'no rules, no window note');
  });
  test('never backed up, outside the window: held until the next start; others unaffected', () => {
    const p = plan(observed(WED), WED);
    assert.deepEqual(p.actions.map(show), ['report:a', 'backup:b']);
    const r = p.actions[0]!;
    assert.ok(r.kind === 'report' && r.what === 'held');
    assert.match(r.message, /^backup of a held: outside the backup window \(window sat 12:00 for 30h; blackout 2026-12-05\.\.2026-12-06\); next start 2026-11-28T12:00:00\.000Z \(Sat 2026-11-28 12:00 UTC\)$/);
    assert.deepEqual(p.vmNotes.a!.window, { open: false, nextStart: '2026-11-28T12:00:00.000Z', text: 'window sat 12:00 for 30h; blackout 2026-12-05..2026-12-06' });
  });
  test('a blackout over the next window: the start after it', () => {
    const now = '2026-12-02T12:00:00Z';
    const p = plan(observed(now), now);
    assert.equal(p.vmNotes.a!.window!.nextStart, '2026-12-12T12:00:00.000Z');
  });
  test('overdue (catch-up) outside the window is held too; not overdue: no report', () => {
    const overdue = observed(WED, { storage: { a: { hypervisor: 'hv1', points: [pt('2026-11-07')], partials: [] }, b: { hypervisor: 'hv1', points: [pt('2026-11-21')], partials: [] } } });
    assert.deepEqual(plan(overdue, WED).actions.map(show), ['report:a']);
    const fresh = observed(WED, { storage: { a: { hypervisor: 'hv1', points: [pt('2026-11-21')], partials: [] }, b: { hypervisor: 'hv1', points: [pt('2026-11-21')], partials: [] } } });
    assert.deepEqual(plan(fresh, WED).actions.map(show), []);
    assert.equal(plan(fresh, WED).vmNotes.a!.window!.open, false, 'the note is there even when nothing is due');
  });
  test('a retry: the later of the backoff and the window', () => {
    // Failed at Sun 17:50 (third in a row: next attempt 20 min later, 18:10), window closed at 18:00.
    const runs = { a: { lastBackup: { time: '2026-11-22T17:50:00Z', status: 'failed' as const, failedInARow: 3, revision: 'rev1' } } };
    const before = plan(observed('2026-11-22T17:55:00Z', { runs }), '2026-11-22T17:55:00Z');
    const held = before.actions.find((a) => a.kind === 'report' && a.subject === 'a');
    assert.ok(held && held.kind === 'report' && held.what === 'held', 'the retry would fall outside the window');
    assert.match(held.message, /next start 2026-11-28T12:00:00\.000Z/);
    assert.ok(!before.actions.some((a) => a.kind === 'backup' && a.vm === 'a'));
    // Failed at Sun 12:00: retry at 12:20, inside the window: no report while waiting, backup after.
    const early = { a: { lastBackup: { time: '2026-11-22T12:00:00Z', status: 'failed' as const, failedInARow: 3, revision: 'rev1' } } };
    assert.deepEqual(plan(observed('2026-11-22T12:10:00Z', { runs: early }), '2026-11-22T12:10:00Z').actions.filter((a) => show(a).endsWith(':a')).map(show), []);
    assert.deepEqual(plan(observed('2026-11-22T12:20:00Z', { runs: early }), '2026-11-22T12:20:00Z').actions.filter((a) => show(a).endsWith(':a')).map(show), ['backup:a']);
  });
});

describe('planReconcile: pauses', () => {
  test('a pause in force holds the backup (inside the window too) and is in the notes', () => {
    const p = plan(observed(SUN, { pauses: { a: pause('2026-11-23T08:00:00Z') } }), SUN);
    assert.deepEqual(p.actions.map(show), ['report:a', 'backup:b']);
    const r = p.actions[0]!;
    assert.ok(r.kind === 'report' && r.what === 'held');
    assert.equal(r.message, 'backup of a held: paused until 2026-11-23T08:00:00Z by cli:alice (kernel upgrade)');
    assert.deepEqual(p.vmNotes.a!.paused, pause('2026-11-23T08:00:00Z'));
  });
  test('an expired pause is ignored', () => {
    const p = plan(observed(SUN, { pauses: { a: pause('2026-11-22T11:59:59Z') } }), SUN);
    assert.deepEqual(p.actions.map(show), ['backup:a', 'backup:b']);
    assert.equal(p.vmNotes.a!.paused, undefined);
  });
  test('verify and prune are not held by a pause or a closed window', () => {
    // a is overdue (newest 11-14), paused and outside its window: its backup is held, the rest goes on.
    const points = [pt('2026-11-14'), pt('2026-11-07', { verifiedAt: '2026-10-01T00:00:00Z' }), pt('2026-10-31'), pt('2026-10-24')];
    const o = observed(WED, { pauses: { a: pause('2026-11-30T00:00:00Z') }, storage: { a: { hypervisor: 'hv1', points, partials: [] }, b: { hypervisor: 'hv1', points: [pt('2026-11-21')], partials: [] } } });
    const kinds = plan(o, WED).actions.map((a) => `${a.kind}:${'vm' in a ? a.vm : a.subject}${'id' in a ? `@${a.id}` : ''}`);
    assert.deepEqual(kinds, ['report:a', 'verify:a@2026-11-07-120000', 'prune:a@2026-10-24-120000']);
  });
  test('a disabled VM gets no pause or window note', () => {
    const off = loadPolicyRepo([{ path: 'r.yaml', text: REPO.replace('{ name: a, hypervisor: hv1, policy: weekend }', '{ name: a, hypervisor: hv1, policy: weekend, enabled: false }') }]).desired;
    const p = planReconcile(off, 'rev1', observed(WED, { pauses: { a: pause('2026-11-30T00:00:00Z') } }), WED);
    assert.equal(p.vmNotes.a!.paused, undefined);
    assert.equal(p.vmNotes.a!.window, undefined);
  });
});
