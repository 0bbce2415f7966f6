// Issue 10 "the digest lists what was pruned in the period": a pass's prunes reach the next digest on
// a real webhook, through a daemon restart (state file), and the following digest starts empty.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { FleetSummary } from '../../src/core/status-model.js';
import type { ActionResult } from '../../src/daemon/execute.js';
import { reportPrunes } from '../../src/daemon/prune-visibility.js';
import { startHttpReceiver } from '../helpers/receivers.js';
import { webhookBridge } from '../helpers/webhook-bridge.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const summary: FleetSummary = {
  generated_at: '2026-02-08T18:00:00Z', last_applied_revision: 'abc123', last_attempt_errors: [],
  totals: { vms: 2, ready: 2, failed: 0, overdue: 0, unknown: 0, unprotected: 0, missing: 0 },
  unprotected: [], missing: [], backups_last_7d: { ok: 2, failed: 0, size_bytes: 0, duration_ms: 0 },
};
const prune = (vm: string, id: string, ok = true, detail = `pruned ${id} (keep_last)`): ActionResult => ({ action: { kind: 'prune', vm, hypervisor: 'hv', id, reasons: ['keep_last'] }, ok, detail, ms: 1 });
const metrics = { recordPruned: () => undefined, recordPruneRefused: () => undefined };

describe('digest: prunes of the period', () => {
  it('lists the ids pruned since the last digest, across a restart, then starts over', async () => {
    const hook = await startHttpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'vmb-digest-pruned-')); dirs.push(dir);
    try {
      const before = await webhookBridge(dir, hook.url('/hook'));
      await reportPrunes([prune('prod-db-01', '2026-01-03-170015'), prune('web-01', '2026-01-04-170000'), prune('web-01', '2026-01-05-170000', true, 'skipped: locked')], 'rev1', metrics, before);
      await reportPrunes([prune('prod-db-01', '2026-01-10-170012')], 'rev1', metrics, before);
      // The daemon restarts: a new process, a new bridge over the same state directory.
      const bridge = await webhookBridge(dir, hook.url('/hook'));
      await bridge.digest(summary, []);
      await bridge.digest(summary, []);
      assert.equal(await bridge.drain(5000), true);
      assert.equal(hook.requests.length, 2);
      const first = hook.requests[0]!.json as { sections: { title: string; lines: string[] }[]; data: { prunedPoints: number } };
      assert.deepEqual(first.sections.find((s) => s.title.startsWith('Pruned')), {
        title: 'Pruned since the last digest (3 restore points of 2 VMs)',
        lines: ['prod-db-01: 2026-01-03-170015, 2026-01-10-170012', 'web-01: 2026-01-04-170000'],
      });
      assert.equal(first.data.prunedPoints, 3);
      const second = hook.requests[1]!.json as { sections: { title: string }[]; data: { prunedPoints: number } };
      assert.equal(second.sections.some((s) => s.title.startsWith('Pruned')), false);
      assert.equal(second.data.prunedPoints, 0);
    } finally { await hook.close(); }
  });
});
