// The plan lists first what weakens a safety net; repository text is escaped in text output.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { safetyChanges, type SafetyChange } from '../../src/core/safety-diff.js';
import { planPolicyChange } from '../../src/core/policy-diff.js';
import { formatPlanMarkdown, formatPlanText, mdCode } from '../../src/core/plan-format.js';
import { escapeTerminal } from '../../src/core/terminal-text.js';
import { formatDiagnostic } from '../../src/core/load.js';
import type { DesiredState } from '../../src/core/model.js';
import { makeDesired } from '../fixtures/desired.js';

type Edit = (d: DesiredState) => void;
const none = new Map<string, string>();

const CASES: { name: string; base?: Edit; head: Edit; tplBase?: Record<string, string>; tplHead?: Record<string, string>; expect: Partial<SafetyChange>[] }[] = [
  { name: 'nothing changed', head: () => {}, expect: [] },
  { name: 'strict_host_key_checking turned off', head: (d) => { d.settings.ssh.strictHostKeyChecking = false; }, expect: [{ subject: 'settings.ssh.strict_host_key_checking', before: 'true', after: 'false' }] },
  { name: 'strict_host_key_checking turned back on: not a weakening', base: (d) => { d.settings.ssh.strictHostKeyChecking = false; }, head: () => {}, expect: [] },
  { name: 'allow_mass_prune turned on', head: (d) => { d.settings.allowMassPrune = true; }, expect: [{ subject: 'settings.allow_mass_prune', before: 'false', after: 'true' }] },
  { name: 'allow_mass_prune turned off: not a weakening', base: (d) => { d.settings.allowMassPrune = true; }, head: () => {}, expect: [] },
  { name: 'max_prune_percent raised', head: (d) => { d.settings.maxPruneShare = 0.6; }, expect: [{ subject: 'settings.max_prune_percent', before: '25', after: '60' }] },
  { name: 'max_prune_percent lowered: not a weakening', head: (d) => { d.settings.maxPruneShare = 0.1; }, expect: [] },
  { name: 'known_hosts set', head: (d) => { d.settings.ssh.knownHosts = '/tmp/mine'; }, expect: [{ subject: 'settings.ssh.known_hosts', before: null, after: '/tmp/mine' }] },
  { name: 'known_hosts changed', base: (d) => { d.settings.ssh.knownHosts = '/etc/vmbackup/known_hosts'; }, head: (d) => { d.settings.ssh.knownHosts = '/tmp/mine'; }, expect: [{ subject: 'settings.ssh.known_hosts', before: '/etc/vmbackup/known_hosts', after: '/tmp/mine' }] },
  { name: 'known_hosts removed', base: (d) => { d.settings.ssh.knownHosts = '/etc/vmbackup/known_hosts'; }, head: (d) => { delete d.settings.ssh.knownHosts; }, expect: [{ subject: 'settings.ssh.known_hosts', before: '/etc/vmbackup/known_hosts', after: null }] },
  { name: 'the scheduler command changed', head: (d) => { d.settings.cron.command = '/tmp/x'; }, expect: [{ subject: 'settings.cron.command', before: '/usr/bin/vmbackup', after: '/tmp/x' }] },
  { name: 'a template override added', head: () => {}, tplHead: { 'bacula-dir.conf.hbs': 'x' }, expect: [{ subject: 'templates/bacula-dir.conf.hbs', before: null, after: null }] },
  { name: 'a template override changed (a notification one too)', head: () => {}, tplBase: { 'email-body.hbs': 'a', 'vmbackup.cron.hbs': 'c' }, tplHead: { 'email-body.hbs': 'b', 'vmbackup.cron.hbs': 'c' }, expect: [{ subject: 'templates/email-body.hbs' }] },
  { name: 'a template override removed: back to the built-in, not listed', head: () => {}, tplBase: { 'email-body.hbs': 'a' }, expect: [] },
  { name: 'pre_backup_commands added', head: (d) => { d.vms[0]!.preBackupCommands = [['ssh', 'h', 'x']]; }, expect: [{ before: null, after: '[["ssh","h","x"]]' }] },
  {
    name: 'several at once, settings first',
    head: (d) => { d.settings.allowMassPrune = true; d.settings.ssh.strictHostKeyChecking = false; },
    tplHead: { 'vmbackup.cron.hbs': 'x' },
    expect: [{ subject: 'settings.ssh.strict_host_key_checking' }, { subject: 'settings.allow_mass_prune' }, { subject: 'templates/vmbackup.cron.hbs' }],
  },
];

describe('safetyChanges', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const base = makeDesired();
      for (const v of base.vms) v.preBackupCommands = [];
      c.base?.(base);
      const head = structuredClone(base);
      c.head(head);
      const got = safetyChanges({ desired: base, templateOverrides: new Map(Object.entries(c.tplBase ?? {})) }, { desired: head, templateOverrides: new Map(Object.entries(c.tplHead ?? {})) });
      assert.equal(got.length, c.expect.length, JSON.stringify(got));
      c.expect.forEach((e, i) => { for (const [k, v] of Object.entries(e)) assert.deepEqual(got[i]![k as keyof SafetyChange], v, `${i}.${k}`); });
    });
  }
});

describe('the plan prints them first', () => {
  const base = makeDesired();
  const head = structuredClone(base);
  head.settings.ssh.strictHostKeyChecking = false;
  const plan = planPolicyChange({
    base: { label: 'main', desired: base, rendered: [], templateOverrides: none },
    head: { label: 'pr', desired: head, rendered: [], templateOverrides: new Map([['bacula-dir.conf.hbs', 'x']]) },
    restorePoints: new Map(), now: '2026-11-22T12:00:00Z',
  });

  test('JSON has a safety array; a safety change alone is a change', () => {
    assert.equal(plan.hasChanges, true);
    assert.deepEqual(plan.safety.map((s) => s.subject), ['settings.ssh.strict_host_key_checking', 'templates/bacula-dir.conf.hbs']);
  });

  test('text: ⚠ safety lines right under the header', () => {
    const lines = formatPlanText(plan).split('\n');
    assert.match(lines[0]!, /^Plan: main → pr/);
    assert.equal(lines[1], '⚠ safety: settings.ssh.strict_host_key_checking true → false: hypervisor host keys are no longer checked: a machine in the middle could receive the VMs\' disks');
    assert.match(lines[2]!, /^⚠ safety: templates\/bacula-dir\.conf\.hbs: a new template override/);
  });

  test('markdown: a [!WARNING] block right under the heading', () => {
    const md = formatPlanMarkdown(plan).split('\n');
    assert.deepEqual(md.slice(2, 5), ['> [!WARNING]', '> **This change weakens safety checks.** Review these before merging:', '>']);
    assert.equal(md[5], '> - ⚠ safety: `settings.ssh.strict_host_key_checking` `true` → `false`: hypervisor host keys are no longer checked: a machine in the middle could receive the VMs\' disks');
  });

  test('no safety change: no block', () => {
    const p = planPolicyChange({ base: { label: 'a', desired: base, rendered: [] }, head: { label: 'b', desired: base, rendered: [] }, restorePoints: new Map(), now: '2026-11-22T12:00:00Z' });
    assert.deepEqual(p.safety, []);
    assert.doesNotMatch(formatPlanMarkdown(p), /WARNING/);
  });

  test('mdCode holds backticks', () => {
    assert.equal(mdCode('a'), '`a`');
    assert.equal(mdCode('a`b'), '`` a`b ``');
  });
});

describe('terminal control characters are escaped in text output', () => {
  const TABLE: [string, string][] = [
    ['plain\ttext\nnext', 'plain\ttext\nnext'],
    ['\x1b[2J\x1b]0;pwned\x07', '\\x1b[2J\\x1b]0;pwned\\x07'],
    ['a\rb\bc\x00d\x7f', 'a\\x0db\\x08c\\x00d\\x7f'],
    ['\u009b31m C1 CSI', '\\x9b31m C1 CSI'],
    ['é ü — ✅ ⚠', 'é ü — ✅ ⚠'],
  ];
  for (const [input, want] of TABLE) {
    test(JSON.stringify(input), () => {
      assert.equal(escapeTerminal(input), want);
      assert.equal(escapeTerminal(want), want, 'idempotent');
    });
  }

  test('diagnostics and plans', () => {
    assert.equal(formatDiagnostic({ code: 'VMB_UNKNOWN_KEY', severity: 'error', file: 'a.yaml', line: 1, col: 1, message: 'unknown key "\x1b[31mx"' }), 'a.yaml:1:1: error: unknown key "\\x1b[31mx" [VMB_UNKNOWN_KEY]');
    const base = makeDesired();
    const p = planPolicyChange({ base: { label: 'a', desired: base, rendered: [{ path: 'x.conf', content: 'a\n', mode: 0o644 }] }, head: { label: 'b', desired: base, rendered: [{ path: 'x.conf', content: '\x1b]0;owned\x07\n', mode: 0o644 }] }, restorePoints: new Map(), now: '2026-11-22T12:00:00Z' });
    for (const out of [formatPlanText(p), formatPlanMarkdown(p)]) {
      assert.doesNotMatch(out, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
      assert.match(out, /\\x1b\]0;owned\\x07/);
    }
  });
});
