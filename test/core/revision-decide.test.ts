// Table tests of the pure revision decision: every transition of applied / attempted / alerted.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRevision, gateRevision, type RevisionState } from '../../src/core/revision/decide.js';

const NOW = '2026-12-03T10:00:00Z';
const S = (o: Partial<RevisionState> = {}): RevisionState => ({ lastAttemptErrors: [], alertedRevisions: [], ...o });
const bad = { ok: false as const, stage: 'invalid' as const, errors: ['a.yaml:1:1: error: x [VMB_SCHEMA]'] };

describe('gateRevision', () => {
  const rows: [string, RevisionState, string, ReturnType<typeof gateRevision>][] = [
    ['nothing applied yet', S(), 'A', 'attempt'],
    ['the applied revision', S({ lastAppliedRevision: 'A' }), 'A', 'unchanged'],
    ['a new revision', S({ lastAppliedRevision: 'A' }), 'B', 'attempt'],
    ['refused before', S({ lastAppliedRevision: 'A', lastAttemptedRevision: 'B', lastAttemptErrors: ['e'] }), 'B', 'known-refused'],
    ['refused before, worth a retry (director down)', S({ lastAppliedRevision: 'A', lastAttemptedRevision: 'B', lastAttemptErrors: ['e'], lastAttemptRetry: true }), 'B', 'attempt'],
    ['a rollback to the previously applied revision is a new attempt', S({ lastAppliedRevision: 'B', lastAttemptedRevision: 'B' }), 'A', 'attempt'],
  ];
  for (const [name, s, c, want] of rows) test(name, () => assert.equal(gateRevision(s, c), want));
});

describe('decideRevision', () => {
  test('first good revision: applied, in force, no recovery', () => {
    const d = decideRevision(S(), 'A', { ok: true }, NOW);
    assert.equal(d.verdict, 'applied');
    assert.equal(d.inForce, 'A');
    assert.equal(d.state.lastAppliedRevision, 'A');
    assert.equal(d.state.lastAttemptedRevision, 'A');
    assert.equal(d.recovered, undefined);
    assert.equal(d.alert, undefined);
  });

  test('a refused revision: alerted once, the applied one stays in force', () => {
    const d = decideRevision(S({ lastAppliedRevision: 'A' }), 'B', bad, NOW);
    assert.equal(d.verdict, 'refused');
    assert.equal(d.inForce, 'A');
    assert.deepEqual(d.alert, { revision: 'B', stage: 'invalid', errors: bad.errors, appliedRevision: 'A' });
    assert.deepEqual(d.state.alertedRevisions, ['B']);
    assert.equal(d.state.lastAttemptAt, NOW);
    const again = decideRevision(d.state, 'B', undefined, '2026-12-03T11:00:00Z');
    assert.equal(again.verdict, 'known-refused');
    assert.equal(again.alert, undefined);
    assert.equal(again.state.lastAttemptAt, NOW, 'no new attempt, no state change (no new status commit)');
    assert.deepEqual(again.state, d.state);
  });

  test('refused with nothing ever applied: nothing in force, still alerted', () => {
    const d = decideRevision(S(), 'B', { ok: false, stage: 'untrusted', errors: ['commit B is not trusted'] }, NOW);
    assert.equal(d.inForce, undefined);
    assert.equal(d.alert?.stage, 'untrusted');
    assert.equal(d.alert?.appliedRevision, undefined);
  });

  test('a retryable apply failure is alerted once and attempted again; success recovers', () => {
    const d1 = decideRevision(S({ lastAppliedRevision: 'A' }), 'B', { ok: false, stage: 'apply', errors: ['director down'], retry: true }, NOW);
    assert.equal(d1.state.lastAttemptRetry, true);
    assert.equal(gateRevision(d1.state, 'B'), 'attempt');
    const d2 = decideRevision(d1.state, 'B', { ok: false, stage: 'apply', errors: ['director down'], retry: true }, NOW);
    assert.equal(d2.alert, undefined, 'one alert per revision');
    const d3 = decideRevision(d2.state, 'B', { ok: true }, NOW);
    assert.equal(d3.verdict, 'applied');
    assert.deepEqual(d3.recovered, { revision: 'B' });
    assert.equal('lastAttemptRetry' in d3.state, false);
    assert.deepEqual(d3.state.alertedRevisions, []);
  });

  test('a fix after a refused revision: recovered, naming the refused one', () => {
    const d1 = decideRevision(S({ lastAppliedRevision: 'A' }), 'B', bad, NOW);
    const d2 = decideRevision(d1.state, 'C', { ok: true }, NOW);
    assert.deepEqual(d2.recovered, { revision: 'C', failedRevision: 'B' });
    assert.deepEqual(d2.changed, { previous: 'A' });
    assert.equal(d2.state.lastAttemptErrors.length, 0);
  });

  test('the applied revision again: unchanged, nothing to alert or save', () => {
    const s = S({ lastAppliedRevision: 'A', lastAttemptedRevision: 'A' });
    const d = decideRevision(s, 'A', undefined, NOW);
    assert.equal(d.verdict, 'unchanged');
    assert.deepEqual(d.state, s);
  });

  test('a history refusal (rollback) keeps the applied revision and says so', () => {
    const d = decideRevision(S({ lastAppliedRevision: 'B' }), 'A', { ok: false, stage: 'history', errors: ['does not descend'] }, NOW);
    assert.equal(d.inForce, 'B');
    assert.equal(d.alert?.stage, 'history');
  });

  test('an attempt without its outcome is a programming error', () => {
    assert.throws(() => decideRevision(S(), 'A', undefined, NOW), /needs its outcome/);
  });

  test('alert memory is bounded', () => {
    let s = S({ lastAppliedRevision: 'A' });
    for (let i = 0; i < 60; i++) s = decideRevision(s, `R${i}`, bad, NOW).state;
    assert.equal(s.alertedRevisions.length, 50);
    assert.equal(s.alertedRevisions.at(-1), 'R59');
  });
});
