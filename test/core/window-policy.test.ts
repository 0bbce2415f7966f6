// Policy `window` / `blackout` through the loader: parsed onto each VM of the policy, nonsense
// reported at file:line:col (schema first, then the window rules' own checks).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic, loadPolicyRepo } from '../../src/core/load.js';

const HV = 'hypervisors:\n  - name: hv1\n';
const VMS = 'vms:\n  - name: web-01\n    hypervisor: hv1\n    policy: weekend\n  - name: db-01\n    hypervisor: hv1\n    policy: plain\n';
const policy = (extra: string): string => `policies:\n  - name: plain\n    schedule: weekly\n    retention: { keep_last: 3 }\n  - name: weekend\n    schedule: daily\n    retention: { keep_last: 3 }\n${extra}`;
const load = (extra: string) => loadPolicyRepo([{ path: 'hv.yaml', text: HV }, { path: 'policies.yaml', text: policy(extra) }, { path: 'vms.yaml', text: VMS }]);
const lines = (extra: string): string[] => load(extra).diagnostics.map(formatDiagnostic);

describe('policy window and blackout', () => {
  test('a weekly window, a daily blackout and a date range land on the policy\'s VMs only', () => {
    const r = load('    window: { start: "sat 12:00", duration: 30h }\n    blackout:\n      - { start: "02:00", duration: 1h }\n      - { from: 2026-12-24, to: 2026-12-27 }\n');
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    const web = r.desired.vms.find((v) => v.name === 'web-01')!;
    assert.deepEqual(web.window, {
      window: { weekday: 6, minute: 720, durationMs: 30 * 3_600_000, text: 'sat 12:00 for 30h' },
      blackouts: [{ minute: 120, durationMs: 3_600_000, text: 'daily 02:00 for 1h' }, { from: '2026-12-24', to: '2026-12-27' }],
    });
    assert.equal(r.desired.vms.find((v) => v.name === 'db-01')!.window, undefined);
  });

  const bad: [string, string, RegExp][] = [
    ['a daily window longer than a day', '    window: { start: "22:00", duration: 25h }\n', /^policies\.yaml:8:41: error: window\.duration 25h is longer than its period .*\[VMB_BAD_WINDOW\]$/],
    ['a start that is no time', '    window: { start: "noon", duration: 2h }\n', /^policies\.yaml:8:22: error: window\.start "noon": expected "HH:MM" \(daily\) or "<weekday> HH:MM" \(weekly\), e\.g\. "sat 12:00" \[VMB_BAD_WINDOW\]$/],
    ['a window without duration', '    window: { start: "12:00" }\n', /^policies\.yaml:8:13: error: window\.duration is required, e\.g\. 30h \[VMB_BAD_WINDOW\]$/],
    ['an unknown key in a window (schema)', '    window: { start: "12:00", duration: 2h, until: 14:00 }\n', /^policies\.yaml:8:45: error: policies\[1\]\.window\.until: unknown key "until" \[VMB_UNKNOWN_KEY\]$/],
    ['a range ending before it starts', '    blackout:\n      - { from: 2026-12-27, to: 2026-12-24 }\n', /^policies\.yaml:9:33: error: blackout\[0\]\.to 2026-12-24 is before its from 2026-12-27 \[VMB_BAD_WINDOW\]$/],
    ['a blackout mixing both forms', '    blackout:\n      - { from: 2026-12-24, to: 2026-12-24, start: "01:00" }\n', /^policies\.yaml:9:9: error: blackout\[0\]: either \{ start, duration \} \(recurring\) or \{ from, to \} \(whole days\), not both \[VMB_BAD_WINDOW\]$/],
    ['a blackout that is no mapping (the schema says it, once)', '    blackout: [7]\n', /^policies\.yaml:8:16: error: policies\[1\]\.blackout\[0\]: must be object \[VMB_SCHEMA\]$/],
    ['a window without start', '    window: { duration: 2h }\n', /^policies\.yaml:8:13: error: window\.start is required, e\.g\. "sat 12:00" or "22:00" \[VMB_BAD_WINDOW\]$/],
    ['a start that is a number (the schema says it, once)', '    window: { start: 1200, duration: 2h }\n', /^policies\.yaml:8:22: error: policies\[1\]\.window\.start: must be string \[VMB_SCHEMA\]$/],
    ['a date that does not exist', '    blackout:\n      - { from: 2026-02-30, to: 2026-03-02 }\n', /^policies\.yaml:9:17: error: blackout\[0\]\.from "2026-02-30": expected a calendar date YYYY-MM-DD \[VMB_BAD_WINDOW\]$/],
  ];
  for (const [what, extra, re] of bad) {
    test(`refused: ${what}`, () => {
      const l = lines(extra);
      assert.equal(load(extra).ok, false);
      assert.equal(l.length, 1, l.join('\n'));
      assert.match(l[0]!, re);
    });
  }
});
