// A value that looks like a secret is reported by field name, never printed; comments are scanned too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, loadPolicyRepo } from '../../src/core/load.js';

const HOOK = 'https://hooks.slack.com/services/T0AAA/B0BBB/XyZsecretTOKEN123';
const lines = (text: string) => loadPolicyRepo([{ path: 'fleet.yaml', text }]).diagnostics.map(formatDiagnostic);

describe('secret-looking values in diagnostics', () => {
  it('a schema error on a secret-looking value names the field, not the value', () => {
    const out = lines(`hypervisors:\n  - name: "${HOOK}"\n    address: hv1\n`);
    assert.ok(out.length > 0);
    assert.ok(out.every((l) => !l.includes('XyZsecretTOKEN123')), out.join('\n'));
    assert.match(out.join('\n'), /fleet\.yaml:2:11: error: hypervisors\[0\]\.name: invalid name the value \(it looks like a Slack webhook URL, not shown/);
  });

  it('an enum field holding a secret gets no "did you mean" echo and no value', () => {
    const out = lines(`vms:\n  - name: vm1\n    hypervisor: hv1\n    method: "${HOOK}"\n`);
    assert.ok(out.some((l) => /vms\[0\]\.method: must be one of/.test(l)), out.join('\n'));
    assert.ok(out.every((l) => !l.includes('XyZsecretTOKEN123')), out.join('\n'));
  });

  it('any other rule that would quote the value (a bad schedule, an unknown hypervisor) hides it', () => {
    const out = lines(`vms:\n  - name: vm1\n    hypervisor: "${HOOK}"\n    schedule: "${HOOK}"\n    retention: { keep_last: 1 }\n`);
    assert.ok(out.length > 0);
    assert.ok(out.every((l) => !l.includes('XyZsecretTOKEN123')), out.join('\n'));
  });
});

describe('secrets in YAML comments', () => {
  it('a webhook URL, a token or a password in a comment is a located VMB_LITERAL_SECRET, not printed', () => {
    const text = [
      '# the old hook was https://hooks.slack.com/services/T0AAA/B0BBB/XyZsecretTOKEN123',
      'vms:',
      '  - name: vm1 # slack token xoxb-1234567890-abcdefghij',
      '    hypervisor: hv1',
      '    schedule: daily',
      '    retention: { keep_last: 1 }   # password: Hunter2Hunter2',
      '    description: "# not a comment: password=inside-a-string"',
    ].join('\n');
    const out = lines(text).filter((l) => l.includes('VMB_LITERAL_SECRET'));
    assert.deepEqual(out.map((l) => l.split(': error:')[0]), ['fleet.yaml:1:1', 'fleet.yaml:3:15', 'fleet.yaml:6:35', 'fleet.yaml:7:18']);
    assert.ok(out.every((l) => !/XyZsecret|abcdefghij|Hunter2/.test(l)), out.join('\n'));
  });

  it('ordinary comments stay quiet (ports, references, prose)', () => {
    const text = '# ssh -p 22 admin@host; password: {env: X}; token: see the runbook\nvms: [] # https://example.com/docs\n';
    assert.deepEqual(lines(text), []);
  });
});
