// The one-line detail of the console's prune (src/daemon/adhoc-prune.ts): what was pruned and why,
// nothing to prune, the guard's REFUSED (a failed action, nothing deleted), held, a dry run's plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pruneDetail } from '../../src/daemon/adhoc-prune.js';

const plan = { vm: 'web1', hypervisor: 'hv1', points: 4, prune: [{ id: 'a', reasons: ['no keep rule matched'] }, { id: 'b', reasons: ['failed backup'] }] };

test('pruned, nothing, refused, held, failed and a dry run each say what happened', () => {
  assert.deepEqual(pruneDetail({ ...plan, status: 'pruned', pruned: ['a', 'b'] }), { ok: true, detail: 'pruned 2 of 4: a (no keep rule matched), b (failed backup)' });
  assert.deepEqual(pruneDetail({ ...plan, status: 'pruned', pruned: ['a'] }), { ok: true, detail: 'pruned 1 of 4: a (no keep rule matched); kept b (storage changed since the plan)' });
  assert.deepEqual(pruneDetail({ ...plan, prune: [], status: 'nothing', pruned: [] }), { ok: true, detail: 'nothing to prune (4 restore points, all kept by retention)' });
  assert.deepEqual(pruneDetail(undefined), { ok: true, detail: 'nothing to prune (0 restore points on storage)' });
  const refused = pruneDetail({ ...plan, refused: 'retention would delete 2 of web1\'s 4 backups (more than 25%)', status: 'refused', pruned: [] });
  assert.equal(refused.ok, false);
  assert.match(refused.detail, /^REFUSED: retention would delete 2 of web1's 4 backups \(more than 25%\); retention would prune a \(no keep rule matched\), b \(failed backup\)$/);
  assert.deepEqual(pruneDetail({ ...plan, held: 'web1 left the repo; kept 30 days', status: 'held', pruned: [] }), { ok: true, detail: 'nothing pruned: kept, web1 left the repo; kept 30 days' });
  assert.deepEqual(pruneDetail({ ...plan, status: 'failed', pruned: [], error: 'EIO' }), { ok: false, detail: 'prune failed: EIO' });
  assert.deepEqual(pruneDetail(plan), { ok: true, detail: 'would prune 2 of 4: a (no keep rule matched), b (failed backup)' });
});
