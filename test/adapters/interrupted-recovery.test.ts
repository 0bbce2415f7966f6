// Issue 10: an interrupted run is alerted once, and a later success of the same VM is a recovery
// from that interruption (naming the interrupted run and when it was), on a real webhook.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunRecord } from '../../src/core/run-record.js';
import { recoveryView } from '../../src/core/notify-runs.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { InterruptedAlerts } from '../../src/daemon/interrupted-alerts.js';
import { startHttpReceiver } from '../helpers/receivers.js';
import { webhookBridge } from '../helpers/webhook-bridge.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const interrupted: RunRecord = { id: 'backup-prod-db-01-1', kind: 'backup', vm: 'prod-db-01', hypervisor: 'hv', started: '2026-02-07T17:00:00.000Z', finished: '2026-02-07T17:05:00.000Z', status: 'interrupted', error: 'the process running it died (killed or crashed)', warnings: [], pid: 999999, steps: [] };
const success: RunRecord = { ...interrupted, id: 'backup-prod-db-01-2', started: '2026-02-08T17:00:00.000Z', finished: '2026-02-08T17:20:00.000Z', status: 'ok', pid: 1000, error: undefined } as unknown as RunRecord;
delete (success as { error?: string }).error;

describe('recovery from an interrupted run', () => {
  it('the recovery view says it recovers from the interruption, with the run id and when', () => {
    const v = recoveryView(success, interrupted, { now: new Date('2026-02-08T17:20:00Z') });
    assert.equal(v.kind, 'recovery');
    assert.match(v.summary, /after the interrupted run backup-prod-db-01-1 \(2026-02-07 17:00/);
    assert.equal(v.data.previousStatus, 'interrupted');
    assert.ok(v.fields.some((f) => f.label === 'Interrupted run' && f.value === 'backup-prod-db-01-1'));
    const failed = recoveryView(success, { ...interrupted, status: 'failed' }, { now: new Date('2026-02-08T17:20:00Z') });
    assert.match(failed.summary, /succeeded again after a failure/);
  });

  it('through the daemon notifier: one interruption alert, then a recovery from it on the next success', async () => {
    const hook = await startHttpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'vmb-int-recovery-')); dirs.push(dir);
    try {
      const store = await StateStore.open(dir);
      await store.saveRun(interrupted);
      const bridge = await webhookBridge(dir, hook.url('/hook'));
      const a = new InterruptedAlerts([interrupted]);
      await a.flush(bridge); await a.flush(bridge);
      await store.saveRun(success);
      await bridge.notify({ kind: 'success', run: success });
      assert.equal(await bridge.drain(5000), true);
      assert.deepEqual(hook.requests.map((r) => (r.json as { event: string }).event), ['failure', 'recovery']);
      const body = hook.requests[1]!.json as { text: string; data: Record<string, unknown> };
      assert.match(body.text, /recover|after the interrupted run backup-prod-db-01-1/);
      assert.match(body.text, /interrupted run backup-prod-db-01-1/);
      assert.equal(body.data.previousRunId, 'backup-prod-db-01-1');
    } finally { await hook.close(); }
  });
});
