// Refusals and deletions are visible: the prune counters, the once-per-revision-and-VM refusal
// alert (dedup in the state store, so it survives a restart), and what a pass's results count.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { MetricsRegistry } from '../../src/adapters/http/metrics-registry.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { NotifierBridge } from '../../src/daemon/notifier-bridge.js';
import { reportPrunes } from '../../src/daemon/prune-visibility.js';
import type { ActionResult } from '../../src/daemon/execute.js';
import { startHttpReceiver } from '../helpers/receivers.js';
import { webhookBridge } from '../helpers/webhook-bridge.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('prune metrics', () => {
  it('vmbackup_pruned_total and vmbackup_prune_refused_total per VM, created at 0 for every VM', () => {
    const m = new MetricsRegistry();
    m.setVms([{ name: 'a', hypervisor: 'h' }, { name: 'b', hypervisor: 'h' }]);
    assert.equal(m.value('vmbackup_pruned_total', { vm: 'a' }), 0);
    assert.equal(m.value('vmbackup_prune_refused_total', { vm: 'b' }), 0);
    m.recordPruned('a'); m.recordPruned('a'); m.recordPruneRefused('b');
    const text = m.render();
    assert.match(text, /^# TYPE vmbackup_pruned_total counter$/m);
    assert.match(text, /^vmbackup_pruned_total\{vm="a"\} 2$/m);
    assert.match(text, /^vmbackup_prune_refused_total\{vm="b"\} 1$/m);
  });
});

describe('reportPrunes', () => {
  it('counts executed prunes (not skipped or failed ones) and counts and alerts each refusal', async () => {
    const pruned: string[] = []; const refused: string[] = []; const alerts: string[] = [];
    const metrics = { recordPruned: (vm: string) => { pruned.push(vm); }, recordPruneRefused: (vm: string) => { refused.push(vm); } };
    const notifier = { pruneRefused: async (rev: string, vm: string, msg: string) => { alerts.push(`${rev} ${vm} ${msg}`); } };
    const results: ActionResult[] = [
      { action: { kind: 'prune', vm: 'a', hypervisor: 'h', id: 'b1', reasons: ['r'] }, ok: true, detail: 'pruned b1 (r)', ms: 1 },
      { action: { kind: 'prune', vm: 'a', hypervisor: 'h', id: 'b2', reasons: ['r'] }, ok: true, detail: 'skipped: locked', ms: 1 },
      { action: { kind: 'prune', vm: 'a', hypervisor: 'h', id: 'b3', reasons: ['r'] }, ok: false, detail: 'boom', ms: 1 },
      { action: { kind: 'report', what: 'prune-refused', subject: 'db', message: 'retention would delete 6 of 8' }, ok: true, detail: 'x', ms: 0 },
      { action: { kind: 'report', what: 'unprotected', subject: 'c', message: 'm' }, ok: true, ms: 0 },
    ];
    await reportPrunes(results, 'rev1', metrics, notifier);
    assert.deepEqual(pruned, ['a']);
    assert.deepEqual(refused, ['db']);
    assert.deepEqual(alerts, ['rev1 db retention would delete 6 of 8']);
  });
});

describe('NotifierBridge.pruneRefused', () => {
  it('alerts once per revision and VM, remembered across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmb-prune-vis-')); dirs.push(dir);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(s); } });
    const bridge = new NotifierBridge(log, await StateStore.open(dir), {});
    assert.equal(await bridge.pruneRefused('rev1', 'db', 'too many'), true);
    assert.equal(await bridge.pruneRefused('rev1', 'db', 'too many'), false);
    assert.equal(await bridge.pruneRefused('rev1', 'web', 'too many'), true);
    assert.equal(await bridge.pruneRefused('rev2', 'db', 'too many'), true);
    const again = new NotifierBridge(log, await StateStore.open(dir), {});
    assert.equal(await again.pruneRefused('rev2', 'db', 'too many'), false);
    const logged = lines.map((l) => JSON.parse(l) as { event?: string; vm?: string; revision?: string }).filter((l) => l.event === 'prune-refused');
    assert.deepEqual(logged.map((l) => `${l.revision} ${l.vm}`), ['rev1 db', 'rev1 web', 'rev2 db']);
  });
});

describe('prune-refused alert on a channel', () => {
  it('reaches the webhook once per revision and VM, naming the VM and the reason', async () => {
    const hook = await startHttpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'vmb-prune-vis-')); dirs.push(dir);
    try {
      const bridge = await webhookBridge(dir, hook.url('/hook'));
      await bridge.pruneRefused('a'.repeat(40), 'prod-db-01', 'retention would delete 6 of prod-db-01\'s 8 backups (more than 50%)');
      await bridge.pruneRefused('a'.repeat(40), 'prod-db-01', 'retention would delete 6 of prod-db-01\'s 8 backups (more than 50%)');
      assert.equal(await bridge.drain(5000), true);
      assert.equal(hook.requests.length, 1);
      const body = JSON.stringify(hook.requests[0]!.json);
      assert.match(body, /prune-refused/);
      assert.match(body, /prod-db-01/);
      assert.match(body, /6 of prod-db-01's 8 backups/);
    } finally { await hook.close(); }
  });
});
