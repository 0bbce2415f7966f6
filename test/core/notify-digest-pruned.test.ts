// Issue 10 "the digest lists what was pruned in the period": per VM, the backup ids pruned since the
// previous digest, bounded (ids per VM and VM lines), counted in data.prunedPoints.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { digestView, MAX_DIGEST_LINES, MAX_PRUNED_IDS } from '../../src/core/notify-digest.js';
import type { FleetSummary } from '../../src/core/status-model.js';

const NOW = new Date('2026-02-08T23:00:00Z');
const summary: FleetSummary = {
  generated_at: NOW.toISOString(), last_applied_revision: 'abc123', last_attempt_errors: [],
  totals: { vms: 2, ready: 2, failed: 0, overdue: 0, unknown: 0, unprotected: 0, missing: 0 },
  unprotected: [], missing: [], backups_last_7d: { ok: 2, failed: 0, size_bytes: 0, duration_ms: 0 },
};
const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `2026-01-${String(i + 1).padStart(2, '0')}-170000`);
const pruned = (v: ReturnType<typeof digestView>) => v.sections.find((s) => s.title.startsWith('Pruned'));

describe('digest: what was pruned in the period', () => {
  const cases: { name: string; input: Record<string, string[]>; title?: string; lines?: string[]; count: number }[] = [
    { name: 'nothing pruned: no section', input: {}, count: 0 },
    { name: 'a VM with an empty list: no section', input: { a: [] }, count: 0 },
    { name: 'ids per VM, VMs and ids sorted, duplicates once', input: { 'web-01': ['2026-01-03-170000'], 'db-01': ['2026-01-10-170000', '2026-01-03-170000', '2026-01-03-170000'] },
      title: 'Pruned since the last digest (3 restore points of 2 VMs)', lines: ['db-01: 2026-01-03-170000, 2026-01-10-170000', 'web-01: 2026-01-03-170000'], count: 3 },
    { name: 'ids beyond the cap are counted', input: { big: ids(MAX_PRUNED_IDS + 3) },
      title: `Pruned since the last digest (${MAX_PRUNED_IDS + 3} restore points of 1 VMs)`, lines: [`big: ${ids(MAX_PRUNED_IDS).join(', ')} and 3 more`], count: MAX_PRUNED_IDS + 3 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const v = digestView(summary, [], { now: NOW }, c.input);
      assert.equal(v.data.prunedPoints, c.count);
      if (!c.title) { assert.equal(pruned(v), undefined); return; }
      assert.deepEqual(pruned(v), { title: c.title, lines: c.lines });
    });
  }

  test('VM lines beyond MAX_DIGEST_LINES are counted', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_DIGEST_LINES + 5 }, (_, i) => [`vm-${String(i).padStart(2, '0')}`, ['2026-01-01-170000']]));
    const s = pruned(digestView(summary, [], { now: NOW }, many))!;
    assert.equal(s.lines.length, MAX_DIGEST_LINES + 1);
    assert.equal(s.lines.at(-1), '… and 5 more');
  });
});
