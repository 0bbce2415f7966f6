// test-restore's probe, the pure parts: which probe a VM gets, the bounds on a console pattern
// (repository input run on guest output), the policy field and its diagnostic, the console text.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicyRepo, formatDiagnostic } from '../../src/core/load.js';
import { checkConsolePattern, chooseProbe, cleanConsole, CONSOLE_WINDOW_BYTES, DEFAULT_CONSOLE_PATTERN, matchExcerpt, MAX_CONSOLE_PATTERN, parseProbe, probeRefusal } from '../../src/core/probe.js';

const load = (files: Record<string, string>) => loadPolicyRepo(Object.entries(files).map(([path, text]) => ({ path, text })));
const repo = (policyTr: string, vmTr = '') => ({
  'hv.yaml': 'hypervisors:\n  - name: hv1\n',
  'pol.yaml': `policies:\n  - name: std\n    schedule: weekly\n    retention: { keep_last: 3 }\n    test_restore: ${policyTr}\n`,
  'vms.yaml': `vms:\n  - name: web\n    hypervisor: hv1\n    policy: std\n${vmTr ? `    test_restore: ${vmTr}\n` : ''}`,
});

describe('console pattern bounds', () => {
  for (const ok of ['login:', DEFAULT_CONSOLE_PATTERN, 'web-01 login:', '^Welcome to .+$', '(?:ready|login):', '\\d+ login:', '[#$] $', 'a{2,5}b', '(?<host>\\w+) login:', '(ab)+c']) {
    test(`accepts /${ok}/`, () => assert.equal(checkConsolePattern(ok), undefined));
  }
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['x'.repeat(MAX_CONSOLE_PATTERN + 1), /201 characters long \(at most 200\)/],
    ['login:(', /not a valid regular expression/],
    ['[z-a]', /not a valid regular expression/],
    ['.*', /matches empty console output/],
    ['login:|', /matches empty console output/],
    ['(a+)+$', /repeats a group that itself repeats/],
    ['(\\w+\\s?)*x$', /repeats a group that itself repeats/],
    ['(a|ab)*c', /repeats a group that itself repeats or alternates/],
    ['((a)+b)+', /repeats a group/],
    ['(?:x+y?)+z', /repeats a group/],
    ['(a+)\\1', /backreference/],
    ['(?<n>a)\\k<n>', /backreference/],
  ];
  for (const [p, why] of bad) {
    test(`refuses /${p.length > 30 ? `${p.slice(0, 30)}…` : p}/`, () => assert.match(checkConsolePattern(p) ?? 'accepted', why));
  }
  test('a class or an escape is not a group: [(+)]+ and \\(a+\\)+ are fine', () => {
    assert.equal(checkConsolePattern('[(+)]+x'), undefined);
    assert.equal(checkConsolePattern('\\(a+\\)+x'), undefined);
  });
});

describe('probe choice', () => {
  test('the policy says: {agent: true}, {console: …}, {tcp: …}', () => {
    assert.deepEqual(parseProbe({ agent: true }), { probe: { kind: 'agent' } });
    assert.deepEqual(parseProbe({ console: 'login:' }), { probe: { kind: 'console', pattern: 'login:' } });
    assert.deepEqual(parseProbe({ tcp: 22 }), { probe: { kind: 'tcp', port: 22 } });
    assert.equal(parseProbe(undefined), undefined);
    assert.match((parseProbe({ console: '(a+)+' }) as { error: string }).error, /exponential/);
    assert.ok('error' in parseProbe({ tcp: 0 })!);
  });
  test('default: the agent when the VM has an agent channel, else a prompt on the serial console', () => {
    assert.deepEqual(chooseProbe(undefined, { hasAgentChannel: true }).probe, { kind: 'agent' });
    assert.equal(chooseProbe(undefined, { hasAgentChannel: true }).source, 'default');
    assert.deepEqual(chooseProbe(undefined, { hasAgentChannel: false }).probe, { kind: 'console', pattern: DEFAULT_CONSOLE_PATTERN });
    const c = chooseProbe({ kind: 'console', pattern: 'login:' }, { hasAgentChannel: true });
    assert.deepEqual([c.probe, c.source], [{ kind: 'console', pattern: 'login:' }, 'policy']);
  });
  test('the default console pattern sees a login prompt and a root prompt, not a firmware banner', () => {
    const re = new RegExp(DEFAULT_CONSOLE_PATTERN, 'm');
    assert.ok(re.test('\nweb-01 login: '));
    assert.ok(re.test('Last login: x\n[root@web-01 ~]# '));
    assert.ok(!re.test('SeaBIOS (version 1.16.2)\nBooting from Hard Disk...\nBoot failed: not a bootable disk\n\nNo bootable device.'));
  });
  test('refused before the copy starts: agent without a channel, tcp off the isolated network or without a NIC', () => {
    assert.match(probeRefusal({ kind: 'agent' }, { hasAgentChannel: false, network: 'none', nics: 0 }) ?? '', /no guest agent channel/);
    assert.match(probeRefusal({ kind: 'tcp', port: 22 }, { hasAgentChannel: false, network: 'none', nics: 1 }) ?? '', /needs the copy on the isolated network/);
    assert.match(probeRefusal({ kind: 'tcp', port: 22 }, { hasAgentChannel: false, network: 'isolated', nics: 0 }) ?? '', /no network interface/);
    assert.equal(probeRefusal({ kind: 'tcp', port: 22 }, { hasAgentChannel: false, network: 'isolated', nics: 1 }), undefined);
    assert.equal(probeRefusal({ kind: 'console', pattern: 'x' }, { hasAgentChannel: false, network: 'none', nics: 0 }), undefined);
  });
});

describe('test_restore.probe in the policy repo', () => {
  test('a policy probe reaches its VMs; a VM probe overrides it', () => {
    const r = load(repo("{ every: monthly, probe: { console: 'login:' } }"));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(r.desired.vms[0]!.testRestore.probe, { kind: 'console', pattern: 'login:' });
    assert.deepEqual(r.desired.policies[0]!.testRestore!.probe, { kind: 'console', pattern: 'login:' });
    const v = load(repo("{ every: monthly, probe: { console: 'login:' } }", '{ probe: { agent: true } }'));
    assert.deepEqual(v.desired.vms[0]!.testRestore.probe, { kind: 'agent' });
    assert.equal(load(repo('{ every: monthly }')).desired.vms[0]!.testRestore.probe, undefined);
  });
  test('an unsafe or invalid console pattern is VMB_BAD_PROBE at its line', () => {
    const r = load(repo("{ every: monthly, probe: { console: '(a+)+$' } }"));
    const d = r.diagnostics.find((x) => x.code === 'VMB_BAD_PROBE');
    assert.ok(d, r.diagnostics.map(formatDiagnostic).join('\n'));
    assert.equal(d.file, 'pol.yaml');
    assert.equal(d.line, 5);
    assert.equal(r.desired.vms[0]!.testRestore.probe, undefined, 'never used');
    assert.ok(load(repo("{ probe: { console: '(' } }")).diagnostics.some((x) => x.code === 'VMB_BAD_PROBE' && /not a valid regular expression/.test(x.message)));
  });
  test('schema: one kind per probe, a pattern of at most 200 characters, a port in range', () => {
    for (const bad of ['{ probe: { agent: true, tcp: 22 } }', `{ probe: { console: '${'x'.repeat(201)}' } }`, '{ probe: { tcp: 70000 } }', '{ probe: { agent: false } }', '{ probe: { ssh: 22 } }']) {
      assert.ok(!load(repo(bad)).ok, bad);
    }
  });
  test('tcp needs network: isolated', () => {
    assert.ok(load(repo('{ probe: { tcp: 22 } }')).diagnostics.some((x) => x.code === 'VMB_BAD_PROBE' && /network: isolated/.test(x.message)));
    assert.deepEqual(load(repo('{ network: isolated, probe: { tcp: 22 } }')).diagnostics.map(formatDiagnostic), []);
  });
});

describe('console text', () => {
  test('escape sequences and control characters removed, CRLF as LF', () => {
    assert.equal(cleanConsole('\x1b[2J\x1b[1;1H\x1b[0;32mOK\x1b[0m\r\nweb login: \x07'), 'OK\nweb login: ');
  });
  test('only the newest window is kept', () => {
    const t = cleanConsole('a'.repeat(CONSOLE_WINDOW_BYTES) + 'tail login:');
    assert.equal(t.length, CONSOLE_WINDOW_BYTES);
    assert.ok(t.endsWith('tail login:'));
  });
  test('the excerpt is the matched line, bounded', () => {
    assert.equal(matchExcerpt('boot\nlab-agent login: \nx', 15), 'lab-agent login:');
    assert.equal(matchExcerpt('y'.repeat(500), 10).length, 120);
  });
});
