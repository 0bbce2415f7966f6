import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { RestorePoint, RetentionDecision } from '../../src/core/model.js';
import { decideRetention } from '../../src/core/retention.js';

// Chains of restore points: a full and the incrementals naming it (transitively) as parent.
const full = (id: string, time: string, verify: RestorePoint['verify'] = 'ok'): RestorePoint => ({ id, time: `${time}:00Z`, status: 'ok', verify, kind: 'full' });
const inc = (id: string, time: string, parent: string, verify: RestorePoint['verify'] = 'ok', status: RestorePoint['status'] = 'ok'): RestorePoint =>
  ({ id, time: `${time}:00Z`, status, verify, kind: 'incremental', parent });
const byId = (ds: RetentionDecision[]): Record<string, RetentionDecision> => Object.fromEntries(ds.map((d) => [d.id, d]));
const opts = { now: '2026-12-20T00:00:00Z' };

describe('chain-aware retention', () => {
  test('a weekly rule that would drop a full whose incremental is kept keeps it as `base of`', () => {
    // Week 49: full F1 (Mon) and incrementals I1..I3; week 50: full F2 and I4. keep_weekly 2 keeps I3 (newest of W49)
    // and I4; I3 needs I2, I1 and F1.
    const points = [
      full('F1', '2026-11-30T02:00'), inc('I1', '2026-12-01T02:00', 'F1'), inc('I2', '2026-12-02T02:00', 'I1'), inc('I3', '2026-12-03T02:00', 'I2'),
      full('F2', '2026-12-07T02:00'), inc('I4', '2026-12-08T02:00', 'F2'),
    ];
    const d = byId(decideRetention(points, { keepWeekly: 2 }, opts));
    assert.equal(d.I3!.action, 'keep');
    assert.deepEqual(d.I3!.reasons, ['keep_weekly 2026-W49']);
    for (const id of ['F1', 'I1', 'I2']) {
      assert.equal(d[id]!.action, 'keep', id);
      assert.deepEqual(d[id]!.reasons, ['base of I3'], id);
    }
    assert.deepEqual(d.F2!.reasons, ['base of I4']);
    assert.deepEqual(d.I4!.reasons, ['newest verified-good point', 'keep_weekly 2026-W50']);
  });

  test('the newest verified point keeps its whole chain', () => {
    const points = [full('F1', '2026-12-01T02:00'), inc('I1', '2026-12-02T02:00', 'F1'), inc('I2', '2026-12-03T02:00', 'I1')];
    const d = byId(decideRetention(points, {}, opts));
    assert.deepEqual(Object.values(d).map((x) => x.action), ['keep', 'keep', 'keep']);
    assert.deepEqual(d.F1!.reasons, ['base of I2']);
  });

  test('a corrupt middle point makes its dependents not-good; the last verified point is the last good one before it', () => {
    const points = [
      full('F1', '2026-12-01T02:00'), inc('I1', '2026-12-02T02:00', 'F1'), inc('I2', '2026-12-03T02:00', 'I1', 'failed', 'failed'),
      inc('I3', '2026-12-04T02:00', 'I2'), full('F2', '2026-12-05T02:00'),
    ];
    // F2 is the newest and good: I3 (ok by itself) is not-good for its chain, so it never counts, and keep_last 2 takes F2 and I1.
    const d = byId(decideRetention(points, { keepLast: 2 }, opts));
    assert.deepEqual(d.F2!.reasons, ['newest verified-good point', 'keep_last 1/2']);
    assert.deepEqual(d.I1!.reasons, ['keep_last 2/2']);
    assert.deepEqual(d.F1!.reasons, ['base of I1']);
    assert.equal(d.I3!.action, 'prune');
    assert.match(d.I3!.reasons[0]!, /chain not good/);
    assert.equal(d.I2!.action, 'prune');
  });

  test('a verification failure in a chain: the newest point (ok itself) is not good, so pruning is held and the last good point is before the failure', () => {
    const points = [
      full('F1', '2026-12-01T02:00'), inc('I1', '2026-12-02T02:00', 'F1'), inc('I2', '2026-12-03T02:00', 'I1', 'failed'),
      inc('I3', '2026-12-04T02:00', 'I2'),
    ];
    const d = byId(decideRetention(points, { keepLast: 1 }, opts));
    for (const x of Object.values(d)) assert.equal(x.action, 'keep', x.id);
    assert.ok(d.I1!.reasons.includes('newest verified-good point'), d.I1!.reasons.join(', '));
    assert.ok(!d.I3!.reasons.includes('newest verified-good point'));
  });

  test('an incremental whose parent is missing is not good', () => {
    const points = [full('F1', '2026-12-01T02:00'), inc('I2', '2026-12-03T02:00', 'I1'), full('F2', '2026-12-04T02:00')];
    const d = byId(decideRetention(points, { keepLast: 3 }, opts));
    assert.equal(d.I2!.action, 'prune');
    assert.match(d.I2!.reasons[0]!, /chain not good/);
    assert.deepEqual(d.F1!.reasons, ['keep_last 2/3']);
  });
});
