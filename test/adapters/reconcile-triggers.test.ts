// vmbackup_reconcile_triggers_total{reason}: what started each pass, so a soak (bench/soak.ts) or
// an operator can tell polls from webhooks and see passes the daemon's own status push set off.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../src/adapters/http/metrics-registry.js';
import { triggerReason } from '../../src/daemon/daemon.js';

describe('reconcile trigger counter', () => {
  test('trigger strings map to stable labels', () => {
    assert.deepEqual(['start', 'poll', 'local change', 'webhook 1a2b3c4d5e6f', 'webhook', 'SIGHUP', 'once'].map(triggerReason), ['start', 'poll', 'local_change', 'webhook', 'webhook', 'sighup', 'once']);
  });

  test('counts per reason and renders as a counter', () => {
    const m = new MetricsRegistry();
    m.recordTrigger('poll'); m.recordTrigger('poll'); m.recordTrigger('local_change');
    assert.equal(m.value('vmbackup_reconcile_triggers_total', { reason: 'poll' }), 2);
    const text = m.render();
    assert.match(text, /^# TYPE vmbackup_reconcile_triggers_total counter$/m);
    assert.match(text, /^vmbackup_reconcile_triggers_total\{reason="local_change"\} 1$/m);
  });
});
