// A run a restart found interrupted is alerted once, after the first applied revision gave the
// notifier its channels; a later flush sends nothing again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunRecord } from '../../src/core/run-record.js';
import { InterruptedAlerts } from '../../src/daemon/interrupted-alerts.js';
import { startHttpReceiver } from '../helpers/receivers.js';
import { webhookBridge } from '../helpers/webhook-bridge.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const run = (vm: string): RunRecord => ({ id: `backup-${vm}-1`, kind: 'backup', vm, hypervisor: 'hv', started: '2026-02-07T17:00:00.000Z', finished: '2026-02-07T17:05:00.000Z', status: 'interrupted', error: 'the process running it died (killed or crashed)', warnings: [], pid: 999999, steps: [] });

describe('InterruptedAlerts', () => {
  it('sends each interrupted run once, as a failure', async () => {
    const sent: string[] = [];
    const fake = { notify: async (e: { kind: string; run: RunRecord }) => { sent.push(`${e.kind} ${e.run.vm} ${e.run.status}`); } };
    const a = new InterruptedAlerts([run('a'), run('b')]);
    assert.equal(await a.flush(fake), 2);
    assert.equal(await a.flush(fake), 0);
    assert.deepEqual(sent, ['failure a interrupted', 'failure b interrupted']);
  });

  it('the alert reaches a real webhook through the daemon notifier, naming the interruption', async () => {
    const hook = await startHttpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'vmb-interrupted-')); dirs.push(dir);
    try {
      const bridge = await webhookBridge(dir, hook.url('/hook'));
      const a = new InterruptedAlerts([run('prod-db-01')]);
      await a.flush(bridge); await a.flush(bridge);
      assert.equal(await bridge.drain(5000), true);
      assert.equal(hook.requests.length, 1);
      const body = JSON.stringify(hook.requests[0]!.json);
      assert.match(body, /prod-db-01/);
      assert.match(body, /died \(killed or crashed\)/);
    } finally { await hook.close(); }
  });
});
