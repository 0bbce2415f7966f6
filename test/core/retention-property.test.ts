import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RestorePoint, Retention, RetentionDecision } from '../../src/core/model.js';
import { decideRetention } from '../../src/core/retention.js';

const BASE_MS = Date.parse('2027-01-10T00:00:00Z');
const COUNT_KEYS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
const NUM_RUNS = 300;

// Mostly good points, with every kind of bad one mixed in.
const kindArb = fc.oneof(
  { arbitrary: fc.constant({ status: 'ok', verify: 'ok' } as const), weight: 5 },
  { arbitrary: fc.constant({ status: 'failed', verify: 'none' } as const), weight: 1 },
  { arbitrary: fc.constant({ status: 'ok', verify: 'none' } as const), weight: 1 },
  { arbitrary: fc.constant({ status: 'ok', verify: 'failed' } as const), weight: 1 },
);
// Hours back from BASE: a dense recent cluster (same hour/day buckets, ties) and a sparse 2.5-year tail.
const hoursBackArb = fc.oneof(fc.integer({ min: 0, max: 72 }), fc.integer({ min: 0, max: 24 * 900 }));

const pointsArb: fc.Arbitrary<RestorePoint[]> = fc
  .array(fc.tuple(hoursBackArb, fc.constantFrom(0, 0, 30, 59), kindArb), { maxLength: 25 })
  .map((rows) =>
    rows.map(([hours, minute, kind], i) => ({
      id: `p${String(i).padStart(2, '0')}`,
      time: new Date(BASE_MS - hours * 3_600_000 + minute * 60_000).toISOString(),
      ...kind,
    })),
  );

const rulesArb: fc.Arbitrary<Retention> = fc.record(
  {
    keepLast: fc.integer({ min: 0, max: 6 }),
    keepHourly: fc.integer({ min: 0, max: 6 }),
    keepDaily: fc.integer({ min: 0, max: 6 }),
    keepWeekly: fc.integer({ min: 0, max: 6 }),
    keepMonthly: fc.integer({ min: 0, max: 6 }),
    keepYearly: fc.integer({ min: 0, max: 3 }),
    keepWithin: fc.constantFrom('0d', '1h', '12h', '1d', '3d', '2w', '8w', '1m', '1y2m'),
  },
  { requiredKeys: [] },
);

const tzArb = fc.constantFrom('UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Pacific/Chatham');

const run = (points: readonly RestorePoint[], rules: Retention, timeZone: string): RetentionDecision[] =>
  decideRetention(points, rules, { now: '2027-02-01T00:00:00Z', timeZone });

const isGood = (p: RestorePoint): boolean => p.status === 'ok' && p.verify === 'ok';

/** Reference "newest" order, written independently of the engine: time, then id, descending. */
function newest(points: readonly RestorePoint[]): RestorePoint | undefined {
  let best: RestorePoint | undefined;
  for (const p of points) {
    const d = best === undefined ? 1 : Date.parse(p.time) - Date.parse(best.time) || (p.id > best.id ? 1 : -1);
    if (d > 0) best = p;
  }
  return best;
}

const keptIds = (ds: readonly RetentionDecision[]): Set<string> =>
  new Set(ds.filter((d) => d.action === 'keep').map((d) => d.id));

describe('decideRetention (properties)', () => {
  test('one decision per input point, in input order, each with reasons', () => {
    fc.assert(
      fc.property(pointsArb, rulesArb, tzArb, (points, rules, tz) => {
        const out = run(points, rules, tz);
        assert.deepEqual(out.map((d) => d.id), points.map((p) => p.id));
        assert.equal(new Set(out.map((d) => d.id)).size, points.length);
        for (const d of out) assert.ok(d.reasons.length > 0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('never prunes the newest good point', () => {
    fc.assert(
      fc.property(pointsArb, rulesArb, tzArb, (points, rules, tz) => {
        const ng = newest(points.filter(isGood));
        if (ng === undefined) return;
        const d = run(points, rules, tz).find((x) => x.id === ng.id);
        assert.equal(d?.action, 'keep');
        assert.ok(d.reasons.includes('newest verified-good point'));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('prunes nothing when the newest point is not good, or when no point is good', () => {
    fc.assert(
      fc.property(pointsArb, rulesArb, tzArb, (points, rules, tz) => {
        const n = newest(points);
        if (n === undefined || (isGood(n) && points.some(isGood))) return;
        for (const d of run(points, rules, tz)) assert.equal(d.action, 'keep', d.id);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('a non-good point never carries a keep_* quota reason', () => {
    fc.assert(
      fc.property(pointsArb, rulesArb, tzArb, (points, rules, tz) => {
        const out = run(points, rules, tz);
        points.forEach((p, i) => {
          if (!isGood(p)) assert.ok(!out[i]!.reasons.some((r) => r.startsWith('keep_')), `${p.id}: ${out[i]!.reasons.join(', ')}`);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('a pruned good point is pruned only because no rule matched', () => {
    fc.assert(
      fc.property(pointsArb, rulesArb, tzArb, (points, rules, tz) => {
        const out = run(points, rules, tz);
        points.forEach((p, i) => {
          const d = out[i]!;
          if (isGood(p) && d.action === 'prune') assert.deepEqual(d.reasons, ['no keep rule matched']);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('the result does not depend on input order', () => {
    const arb = pointsArb.chain((ps) =>
      fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length, maxLength: ps.length })),
    );
    fc.assert(
      fc.property(arb, rulesArb, tzArb, ([points, shuffled], rules, tz) => {
        const byId = (ds: RetentionDecision[]): RetentionDecision[] => [...ds].sort((a, b) => (a.id < b.id ? -1 : 1));
        assert.deepEqual(byId(run(shuffled, rules, tz)), byId(run(points, rules, tz)));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('monotone: raising any keep_* count never prunes a point kept before', () => {
    fc.assert(
      fc.property(pointsArb, rulesArb, tzArb, fc.constantFrom(...COUNT_KEYS), fc.integer({ min: 1, max: 5 }), (points, rules, tz, key, more) => {
        const before = keptIds(run(points, rules, tz));
        const after = keptIds(run(points, { ...rules, [key]: (rules[key] ?? 0) + more }, tz));
        for (const id of before) assert.ok(after.has(id), `${id} kept with ${JSON.stringify(rules)} but pruned after ${key} += ${more}`);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('keep_last >= number of good points keeps every good point', () => {
    fc.assert(
      fc.property(pointsArb, tzArb, (points, tz) => {
        const out = run(points, { keepLast: points.length }, tz);
        points.forEach((p, i) => {
          if (isGood(p)) assert.equal(out[i]!.action, 'keep', p.id);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('opts.now does not change the result (no clock, keep_within is relative to the newest point)', () => {
    fc.assert(
      fc.property(pointsArb, rulesArb, tzArb, (points, rules, tz) => {
        const a = decideRetention(points, rules, { now: '2000-01-01T00:00:00Z', timeZone: tz });
        const b = decideRetention(points, rules, { now: '2099-01-01T00:00:00Z', timeZone: tz });
        assert.deepEqual(a, b);
      }),
      { numRuns: 100 },
    );
  });
});

// Chains: each point may be an incremental naming another point (older, newer, itself or missing) as parent.
const chainedArb: fc.Arbitrary<RestorePoint[]> = pointsArb.chain((ps) =>
  fc.tuple(fc.constant(ps), fc.array(fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }), { minLength: ps.length, maxLength: ps.length })).map(([points, parents]) =>
    points.map((p, i) => {
      const par = parents[i];
      return par === undefined ? { ...p, kind: 'full' as const } : { ...p, kind: 'incremental' as const, parent: `p${String(par).padStart(2, '0')}` };
    }),
  ),
);

/** Reference: good by itself and every ancestor present and good (a loop is not good). */
function chainGood(points: readonly RestorePoint[], p: RestorePoint): boolean {
  const byId = new Map(points.map((x) => [x.id, x]));
  const seen = new Set<string>();
  for (let cur: RestorePoint | undefined = p; cur !== undefined; cur = cur.parent === undefined ? undefined : byId.get(cur.parent)) {
    if (!isGood(cur) || seen.has(cur.id)) return false;
    seen.add(cur.id);
    if (cur.parent !== undefined && !byId.has(cur.parent)) return false;
  }
  return true;
}

describe('decideRetention on chains (properties)', () => {
  test('no kept point ever has a deleted ancestor', () => {
    fc.assert(
      fc.property(chainedArb, rulesArb, tzArb, (points, rules, tz) => {
        const out = run(points, rules, tz);
        const pruned = new Set(out.filter((d) => d.action === 'prune').map((d) => d.id));
        const byId = new Map(points.map((p) => [p.id, p]));
        for (const d of out) {
          if (d.action !== 'keep') continue;
          const seen = new Set<string>();
          for (let par = byId.get(d.id)?.parent; par !== undefined && !seen.has(par); par = byId.get(par)?.parent) {
            seen.add(par);
            assert.ok(!pruned.has(par), `${d.id} kept but its ancestor ${par} pruned`);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('the newest chain-good point is kept as the newest verified-good point; no other point is', () => {
    fc.assert(
      fc.property(chainedArb, rulesArb, tzArb, (points, rules, tz) => {
        const out = run(points, rules, tz);
        const ng = newest(points.filter((p) => chainGood(points, p)));
        for (const d of out) {
          const marked = d.reasons.includes('newest verified-good point');
          assert.equal(marked, d.id === ng?.id, `${d.id}: ${d.reasons.join(', ')}`);
          if (marked) assert.equal(d.action, 'keep');
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('a point whose chain is not good never carries a keep_* quota reason', () => {
    fc.assert(
      fc.property(chainedArb, rulesArb, tzArb, (points, rules, tz) => {
        const out = run(points, rules, tz);
        points.forEach((p, i) => {
          if (!chainGood(points, p)) assert.ok(!out[i]!.reasons.some((r) => r.startsWith('keep_')), `${p.id}: ${out[i]!.reasons.join(', ')}`);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
