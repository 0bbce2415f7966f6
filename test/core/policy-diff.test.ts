import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { retentionChangedVms, sameJson } from '../../src/core/policy-diff.js';
import { makeDesired } from '../fixtures/desired.js';

describe('sameJson: equality as the plan prints it (JSON)', () => {
  test('agrees with comparing JSON.stringify output, edge values included', () => {
    const leaf = fc.oneof(
      fc.constantFrom(undefined, null, NaN, Infinity, -0, 0, 1, '', 'a', '1', true, false),
      fc.constant(new Date(0)), fc.constant('1970-01-01T00:00:00.000Z'), fc.constant(() => 1),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('tree'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('x', 'y', '1', '0'), tie('tree'), { maxKeys: 3 })),
    }));
    fc.assert(fc.property(tree, tree, (a, b) => {
      assert.equal(sameJson(a, b), JSON.stringify(a) === JSON.stringify(b));
      assert.equal(sameJson(a, a), true);
    }), { numRuns: 20_000 });
  });

  test('key order matters, as in JSON', () => {
    assert.equal(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 }), false);
    assert.equal(sameJson({ a: 1, b: undefined }, { a: 1 }), true);
    assert.equal(sameJson([undefined], [null]), true);
  });
});

describe('retentionChangedVms', () => {
  test('VMs protected in both states whose retention differs, nothing else', () => {
    const base = makeDesired();
    const head = structuredClone(base);
    const [a, b, c] = head.vms;
    a!.retention = { keepLast: 99 };
    b!.enabled = false;
    b!.retention = { keepLast: 98 };
    c!.priority += 1;
    assert.deepEqual([...retentionChangedVms(base, head)], [a!.name]);
  });
});
