// Issue 10 "Messages and output": errors name what is wrong and suggest the fix; --json failures are JSON; EPIPE is quiet.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyRepo, formatDiagnostic } from '../../src/core/load.js';
import { vmbackup } from '../helpers/cli.js';
import { CLI } from '../helpers/paths.js';

const HV = 'hypervisors:\n  - name: hv1\n';
const POL = 'policies:\n  - name: standard\n    schedule: weekly\n    retention: { keep_last: 3 }\n';
const lines = (files: Record<string, string>) => loadPolicyRepo(Object.entries(files).map(([path, text]) => ({ path, text }))).diagnostics.map(formatDiagnostic);

describe('messages: name the problem, suggest the fix', () => {
  test('a duplicate key names the key', () => {
    const out = lines({ 'v.yaml': 'vms:\n  - name: x\n    hypervisor: hv1\n    hypervisor: hv2\n' });
    assert.ok(out.some((l) => /^v\.yaml:4:5: error: duplicate key "hypervisor" in one mapping \[VMB_YAML_DUPLICATE_KEY\]$/.test(l)), out.join('\n'));
  });

  test('an enum error names the bad value and suggests the nearest valid one', () => {
    const out = lines({ 'h.yaml': HV + POL, 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1, policy: standard, method: freeze }\n' });
    assert.ok(out.some((l) => /vms\[0\]\.method: "freeze" is not one of quiesce, snapshot; did you mean "quiesce"\? \[VMB_SCHEMA\]/.test(l)), out.join('\n'));
  });

  test('an enum value that looks like a secret is never printed', () => {
    const token = 'xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx';
    const out = lines({ 'h.yaml': HV + POL, 'v.yaml': `vms:\n  - { name: x, hypervisor: hv1, policy: standard, method: ${token} }\n` });
    assert.ok(!out.join('\n').includes(token), out.join('\n'));
    assert.ok(out.some((l) => l.includes('vms[0].method')), out.join('\n'));
  });

  test('an unknown policy gets "did you mean"', () => {
    const out = lines({ 'h.yaml': HV + POL, 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1, policy: standrad }\n' });
    assert.ok(out.some((l) => /policy "standrad" is not defined; did you mean "standard"\? \[VMB_UNKNOWN_POLICY\]/.test(l)), out.join('\n'));
  });

  test('an unknown default_policy gets "did you mean"', () => {
    const out = lines({ 'h.yaml': HV + POL + 'settings:\n  default_policy: standart\n', 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1 }\n' });
    assert.ok(out.some((l) => /settings\.default_policy "standart" is not defined; did you mean "standard"\? \[VMB_UNKNOWN_POLICY\]/.test(l)), out.join('\n'));
  });

  test('a misspelt schedule word gets "did you mean"', () => {
    const out = lines({ 'h.yaml': HV + POL, 'v.yaml': 'vms:\n  - { name: x, hypervisor: hv1, policy: standard, schedule: weekley }\n' });
    assert.ok(out.some((l) => /schedule "weekley": .*did you mean "weekly"\? \[VMB_BAD_SCHEDULE\]/.test(l)), out.join('\n'));
  });

  test('a follow-on error comes after its cause', () => {
    const out = lines({ 'h.yaml': HV + POL, 'v.yaml': 'vms:\n  - name: x\n    hypervisor: hv1\n    policy: standrad\n' });
    const cause = out.findIndex((l) => l.includes('[VMB_UNKNOWN_POLICY]'));
    const follow = out.findIndex((l) => l.includes('[VMB_NO_SCHEDULE]'));
    assert.ok(cause >= 0 && follow >= 0, out.join('\n'));
    assert.ok(cause < follow, out.join('\n'));
  });

  test('a follow-on of an unknown default_policy comes after it (another file)', () => {
    const out = lines({ 'a.yaml': 'vms:\n  - { name: x, hypervisor: hv1 }\n', 'z.yaml': HV + POL + 'settings:\n  default_policy: nope\n' });
    const cause = out.findIndex((l) => l.includes('[VMB_UNKNOWN_POLICY]'));
    const follow = out.findIndex((l) => l.includes('[VMB_NO_SCHEDULE]'));
    assert.ok(cause >= 0 && follow >= 0, out.join('\n'));
    assert.ok(cause < follow, out.join('\n'));
  });
});

describe('messages: --json failures and EPIPE (built CLI)', () => {
  test('validate --json on a missing repo prints a JSON error object on stdout', async () => {
    const r = await vmbackup(['validate', '--json', '--repo', join(tmpdir(), 'vmb-no-such-repo-xyz')]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.equal(typeof j.error.code, 'string');
    assert.match(j.error.message, /vmb-no-such-repo-xyz/);
  });

  test('status --json with a broken status file prints a JSON error object', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-msg-'));
    await mkdir(join(dir, 'status', 'vms'), { recursive: true });
    await writeFile(join(dir, 'status', 'vms', 'x.yaml'), 'vm: [');
    const r = await vmbackup(['status', '--json', '--repo', dir, '--state-dir', join(dir, 'state')]);
    assert.notEqual(r.code, 0);
    const j = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.ok(j.error.message.length > 0);
  });

  test('plan --format json with a bad --base prints a JSON error object', async () => {
    const r = await vmbackup(['plan', '--format', 'json', '--repo', join(tmpdir(), 'vmb-no-such-repo-xyz'), '--base', 'nope']);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.equal(typeof j.error.code, 'string');
  });

  test('`vmbackup plan --help | head -1` ends quietly', async () => {
    const child = spawn(process.execPath, [CLI, 'plan', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    // Close the read end before the help is written, like `head -1` that has already exited.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.doesNotMatch(err, /EPIPE|Error/, err);
    assert.equal(code, 0, err);
  });
});
