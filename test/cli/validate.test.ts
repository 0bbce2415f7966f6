import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir, cp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { EXAMPLE_FLEET } from '../helpers/paths.js';
import { makeRepo } from '../helpers/git-repo.js';

describe('vmbackup validate (CLI)', () => {
  test('the example fleet is valid: exit 0', async () => {
    const r = await vmbackup(['validate', '--repo', EXAMPLE_FLEET]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^valid: \d+ files, 12 VMs, 6 hypervisors, 5 policies: 0 errors, 0 warnings$/m);
  });

  test('an invalid repo: exit 1, every problem as path:line:col, relative paths', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-validate-'));
    await cp(EXAMPLE_FLEET, dir, { recursive: true });
    await mkdir(join(dir, 'vms'), { recursive: true });
    await writeFile(join(dir, 'vms', 'broken.yaml'), 'vms:\n  - name: prod-db-01\n    hypervisor: hypervisor-09\n    policy: standard\n    retention: { keep_dayly: 3 }\n');
    const r = await vmbackup(['validate', '--repo', dir]);
    assert.equal(r.code, 1);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.some((l) => l.startsWith('vms/broken.yaml:2:11: error: duplicate VM name "prod-db-01" (first defined at vm-list.yaml:')), r.stdout);
    assert.ok(lines.some((l) => l.startsWith('vms/broken.yaml:3:17: error: hypervisor "hypervisor-09" is not defined')), r.stdout);
    assert.ok(lines.some((l) => l.startsWith('vms/broken.yaml:5:18: error: vms[0].retention.keep_dayly: unknown key "keep_dayly"; did you mean "keep_daily"?')), r.stdout);
    assert.match(lines.at(-1)!, /^invalid: /);
  });

  test('--json is machine-readable', async () => {
    const r = await vmbackup(['validate', '--repo', EXAMPLE_FLEET, '--json']);
    const j = JSON.parse(r.stdout) as { ok: boolean; vms: number; diagnostics: unknown[] };
    assert.equal(j.ok, true);
    assert.equal(j.vms, 12);
    assert.deepEqual(j.diagnostics, []);
  });

  test('NO_COLOR and pipes give plain text', async () => {
    const r = await vmbackup(['validate', '--repo', EXAMPLE_FLEET]);
    assert.doesNotMatch(r.stdout, /\x1b\[/);
  });
});

describe('validate on the working tree and validate --rev: the same verdict, the same codes (real git)', () => {
  test('a symlinked *.yaml and a linked templates/ are located errors both ways', async () => {
    const repo = await makeRepo(EXAMPLE_FLEET);
    try {
      await symlink('../vm-list.yaml', join(repo.work, 'vms', 'linked.yaml'));
      await symlink('.git', join(repo.work, 'templates'));
      await repo.git('add', '-A');
      await repo.git('commit', '-q', '-m', 'links');
      const tree = await vmbackup(['validate', '--repo', repo.work]);
      const rev = await vmbackup(['validate', '--repo', repo.work, '--rev', 'HEAD']);
      assert.equal(tree.code, 1);
      assert.equal(rev.code, 1);
      assert.equal(tree.stdout, rev.stdout);
      assert.match(tree.stdout, /^templates:1:1: error: templates is a symbolic link; .*\[VMB_SYMLINK\]$/m);
      assert.match(tree.stdout, /^vms\/linked\.yaml:1:1: error: vms\/linked\.yaml is a symbolic link; .*\[VMB_SYMLINK\]$/m);
      const j = JSON.parse((await vmbackup(['validate', '--repo', repo.work, '--rev', 'HEAD', '--json'])).stdout) as { diagnostics: { code: string; file: string }[] };
      assert.deepEqual(j.diagnostics.map((d) => `${d.file} ${d.code}`), ['templates VMB_SYMLINK', 'vms/linked.yaml VMB_SYMLINK']);
    } finally { await repo.cleanup(); }
  });

  test('--rev of an unknown revision: exit 1 with a clear message', async () => {
    const r = await vmbackup(['validate', '--repo', EXAMPLE_FLEET, '--rev', 'no-such-rev']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown git revision "no-such-rev"/);
  });
});

describe('--help on every command', () => {
  for (const cmd of [[], ['validate'], ['plan'], ['render']]) {
    test(`vmbackup ${cmd.join(' ')} --help`, async () => {
      const r = await vmbackup([...cmd, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: vmbackup/m);
    });
  }
  test('an unknown command exits 1 with a hint', async () => {
    const r = await vmbackup(['frobnicate']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown command/);
  });
});

after(() => undefined);
