// Issue 13 "the digest lists ad-hoc actions of the period, and pauses": the pure digest builder
// groups the audit lines of one action (accepted, then ok/failed/cancelled, cancel acts) into one
// line with its act, VM, who asked and how it ended; at most 10, then "and N more"; paused VMs are
// listed with until, reason and who, and a paused overdue VM is not listed as overdue.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adhocLines, digestView, MAX_ADHOC_LINES } from '../../src/core/notify-digest.js';
import type { AuditEntry } from '../../src/core/audit/entry.js';
import type { FleetSummary, VmStatus } from '../../src/core/status-model.js';

const summary: FleetSummary = {
  generated_at: '2026-12-06T18:00:00Z', last_applied_revision: 'abc123', last_attempt_errors: [],
  totals: { vms: 2, ready: 1, failed: 0, overdue: 0, unknown: 0, unprotected: 0, missing: 0 },
  unprotected: [], missing: [], backups_last_7d: { ok: 2, failed: 0, size_bytes: 0, duration_ms: 0 },
};
const st = (vm: string, extra: Partial<VmStatus> = {}): VmStatus => ({
  vm, hypervisor: 'hv1', observed: 'running', restore_points: [], history: [],
  conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: '', lastTransitionTime: '2026-12-01T00:00:00Z' }],
  ...extra,
});
const e = (at: string, act: AuditEntry['act'], result: AuditEntry['result'], extra: Partial<AuditEntry> = {}): AuditEntry => ({ at, by: 'api:alice', role: 'operator', act, vm: 'app-01', result, ...extra });
const opts = { now: new Date('2026-12-06T18:00:00Z'), timeZone: 'UTC' };

describe('digest: ad-hoc actions of the period', () => {
  test('one line per action: accepted + final grouped by action_id; act, vm, by, result', () => {
    const lines = adhocLines([
      e('2026-12-03T10:00:00Z', 'backup', 'accepted', { action_id: 'q1' }),
      e('2026-12-03T10:00:05Z', 'verify', 'accepted', { action_id: 'q2', vm: 'db-01', by: 'api:bob' }),
      e('2026-12-03T10:07:00Z', 'backup', 'ok', { action_id: 'q1', detail: 'backup 2026-12-03-100000' }),
      e('2026-12-03T10:08:00Z', 'cancel', 'ok', { action_id: 'q2', vm: 'db-01', by: 'api:carol', detail: 'cancelled by api:carol' }),
      e('2026-12-03T10:08:00Z', 'verify', 'cancelled', { action_id: 'q2', vm: 'db-01', by: 'api:carol', detail: 'cancelled by api:carol' }),
      e('2026-12-04T09:00:00Z', 'restore', 'refused', { by: 'api:viewer1', role: 'viewer', detail: 'API_FORBIDDEN: needs the admin role' }),
      e('2026-12-04T09:30:00Z', 'pause', 'ok', { detail: 'until 2026-12-20T08:00:00.000Z: disk migration' }),
      e('2026-12-04T09:31:00Z', 'login', 'ok'),
      e('2026-12-05T11:00:00Z', 'test-restore', 'accepted', { action_id: 'q3' }),
    ], 'UTC');
    assert.deepEqual(lines, [
      '2026-12-03 10:00:00 UTC: backup app-01 by api:alice: ok (backup 2026-12-03-100000)',
      '2026-12-03 10:00:05 UTC: verify db-01 by api:bob: cancelled (cancelled by api:carol)',
      '2026-12-04 09:00:00 UTC: restore app-01 by api:viewer1: refused (API_FORBIDDEN: needs the admin role)',
      '2026-12-04 09:30:00 UTC: pause app-01 by api:alice: ok (until 2026-12-20T08:00:00.000Z: disk migration)',
      '2026-12-05 11:00:00 UTC: test-restore app-01 by api:alice: not finished yet',
    ]);
  });

  test('at most 10 lines, then "and N more"; the section title counts all', () => {
    const many = Array.from({ length: 13 }, (_, i) => e(`2026-12-03T10:${String(i).padStart(2, '0')}:00Z`, 'backup', 'ok', { action_id: `q${i}` }));
    assert.equal(MAX_ADHOC_LINES, 10);
    const v = digestView(summary, [], opts, {}, many);
    const s = v.sections.find((x) => x.title.startsWith('Ad-hoc actions'))!;
    assert.equal(s.title, 'Ad-hoc actions since the last digest (13)');
    assert.equal(s.lines.length, 11);
    assert.equal(s.lines[10], '… and 3 more');
    assert.equal(v.data.adhocActions, 13);
  });

  test('no ad-hoc actions, no pauses: no section (the digest stays as it was)', () => {
    const v = digestView(summary, [st('a')], opts);
    assert.equal(v.sections.some((x) => /Ad-hoc|Paused/.test(x.title)), false);
    assert.equal(v.data.adhocActions, 0);
    assert.equal(v.data.pausedVms, 0);
  });

  test('paused VMs with until, reason and who; a paused overdue VM is not listed as overdue', () => {
    const paused = { until: '2026-12-20T08:00:00.000Z', reason: 'disk migration', by: 'api:alice' };
    const v = digestView(summary, [
      st('a', { paused, conditions: [{ type: 'Ready', status: 'False', reason: 'Paused', message: '', lastTransitionTime: '2026-12-01T00:00:00Z' }] }),
      st('b'),
    ], opts);
    assert.deepEqual(v.sections.find((x) => x.title.startsWith('Paused')), { title: 'Paused (1)', lines: ['a (hv1): until 2026-12-20 08:00:00 UTC: disk migration (by api:alice)'] });
    assert.equal(v.sections.some((x) => x.title.startsWith('Overdue')), false);
    assert.equal(v.data.pausedVms, 1);
  });
});
