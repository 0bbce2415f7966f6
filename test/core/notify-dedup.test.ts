import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEDUP_WINDOW_MS, MAX_PERMANENT_ENTRIES, recordSent, shouldSend, type SentEntry } from '../../src/core/notify-dedup.js';

const T0 = new Date('2026-02-07T17:00:00Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

describe('shouldSend / recordSent', () => {
  it('suppresses the same VM and kind for 5 minutes, then sends again', () => {
    const fail = { kind: 'failure' as const, vm: 'prod-db-01' };
    let h: SentEntry[] = [];
    assert.equal(shouldSend(h, fail, T0), true);
    h = recordSent(h, fail, T0);
    assert.equal(shouldSend(h, fail, at(60_000)), false);
    assert.equal(shouldSend(h, fail, at(DEDUP_WINDOW_MS - 1)), false);
    assert.equal(shouldSend(h, fail, at(DEDUP_WINDOW_MS)), true);
    assert.equal(shouldSend(h, { kind: 'failure', vm: 'prod-db-02' }, at(1000)), true, 'another VM');
    assert.equal(shouldSend(h, { kind: 'recovery', vm: 'prod-db-01' }, at(1000)), true, 'another kind');
  });

  it('config alerts go out once per revision, however long it stays broken', () => {
    const alert = { kind: 'config-alert' as const, revision: 'bad1' };
    const h = recordSent([], alert, T0);
    assert.equal(shouldSend(h, alert, at(30 * 86_400_000)), false);
    assert.equal(shouldSend(h, { kind: 'config-alert', revision: 'bad2' }, at(1)), true);
  });

  it('the digest is never suppressed; the storage alert at most daily', () => {
    const h = recordSent(recordSent([], { kind: 'digest' }, T0), { kind: 'storage' }, T0);
    assert.equal(shouldSend(h, { kind: 'digest' }, at(1)), true);
    assert.equal(h.length, 1, 'the digest is not recorded');
    assert.equal(shouldSend(h, { kind: 'storage' }, at(23 * 3600_000)), false);
    assert.equal(shouldSend(h, { kind: 'storage' }, at(24 * 3600_000)), true);
  });

  it('drops expired entries and caps once-per-revision ones', () => {
    let h = recordSent([], { kind: 'failure', vm: 'a' }, T0);
    h = recordSent(h, { kind: 'failure', vm: 'b' }, at(DEDUP_WINDOW_MS + 1));
    assert.deepEqual(h.map((e) => e.key), ['failure:b']);
    for (let i = 0; i < MAX_PERMANENT_ENTRIES + 5; i++) h = recordSent(h, { kind: 'config-alert', revision: `r${i}` }, T0);
    const perm = h.filter((e) => e.until === undefined);
    assert.equal(perm.length, MAX_PERMANENT_ENTRIES);
    assert.equal(perm[0]?.key, 'config-alert:r5');
  });
});
