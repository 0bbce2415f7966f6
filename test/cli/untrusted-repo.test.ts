// The repository is untrusted input, end to end through the built CLI and real git: a pull request
// that links a template to .git/config cannot get the checkout token into `plan`/`render` output;
// terminal controls from the repo are escaped; `plan` lists what weakens safety first.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { EXAMPLE_FLEET, ROOT } from '../helpers/paths.js';
import type { PolicyPlan } from '../../src/core/policy-diff.js';

const NOW = '2026-11-22T12:00:00Z';
const TOKEN = 'ghs_FAKEFAKEFAKEFAKEFAKE0123456789';
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

async function allText(dir: string): Promise<string> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const texts = await Promise.all(names.filter((e) => e.isFile()).map((e) => readFile(join(e.parentPath, e.name), 'utf8')));
  return texts.join('\n');
}

describe('a pull request linking templates to .git/config (real git, token in the remote URL)', () => {
  let repo: TestRepo;
  let out: string;
  before(async () => {
    repo = await makeRepo(EXAMPLE_FLEET);
    // What actions/checkout leaves behind: the token in .git/config.
    await repo.git('remote', 'set-url', 'origin', `https://x-access-token:${TOKEN}@github.invalid/acme/policy.git`);
    await repo.git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    out = await mkdtemp(join(tmpdir(), 'vmb-untrusted-out-'));
  });
  after(async () => { await repo.cleanup(); await rm(out, { recursive: true, force: true }); });

  for (const variant of ['file', 'folder'] as const) {
    describe(variant === 'file' ? 'templates/bacula-dir.conf.hbs -> ../.git/config' : 'templates -> .git', () => {
      before(async () => {
        await repo.git('checkout', '-q', '-B', `pr/${variant}`, 'main');
        if (variant === 'file') {
          await mkdir(join(repo.work, 'templates'));
          await symlink('../.git/config', join(repo.work, 'templates', 'bacula-dir.conf.hbs'));
        } else {
          await writeFile(join(repo.work, '.git', 'bacula-dir.conf.hbs'), `# ${TOKEN}\n`);
          await symlink('.git', join(repo.work, 'templates'));
        }
        await repo.git('add', '-A');
        await repo.git('commit', '-q', '-m', 'innocent template tweak');
      });
      after(async () => {
        await rm(join(repo.work, 'templates'), { recursive: true, force: true });
        await repo.git('checkout', '-q', '-f', 'main');
      });
      const file = variant === 'file' ? 'templates/bacula-dir.conf.hbs' : 'templates';
      const located = new RegExp(`^${file.replace(/\./g, '\\.')}:1:1: error: .*symbolic link.*\\[VMB_SYMLINK\\]$`, 'm');

      for (const [what, args] of [
        ['plan --format markdown on the working tree', ['plan', '--base', 'origin/main', '--format', 'markdown', '--now', NOW]],
        ['plan --format markdown on the revision', ['plan', '--base', 'origin/main', '--head', 'HEAD', '--format', 'markdown', '--now', NOW]],
        ['plan --format json on the revision', ['plan', '--base', 'origin/main', '--head', 'HEAD', '--format', 'json', '--now', NOW]],
      ] as const) {
        test(`${what}: exit 1 naming the file, no token`, async () => {
          const r = await vmbackup([...args, '--repo', repo.work]);
          assert.equal(r.code, 1, r.stdout + r.stderr);
          assert.match(r.stderr, located);
          assert.ok(!(r.stdout + r.stderr).includes(TOKEN), 'token leaked');
          assert.ok(!(r.stdout + r.stderr).includes('x-access-token'), 'git config leaked');
        });
      }

      test('the link on the base side only: still no token in the plan', async () => {
        const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'HEAD', '--head', 'origin/main', '--format', 'markdown', '--now', NOW]);
        assert.ok(!(r.stdout + r.stderr).includes(TOKEN), 'token leaked');
        assert.match(r.stderr, /base .* is itself invalid/);
      });

      for (const [what, args] of [['render on the working tree', []], ['render --rev HEAD', ['--rev', 'HEAD']]] as const) {
        test(`${what}: exit 1 naming the file, nothing written, no token`, async () => {
          const dir = join(out, `${variant}-${args.length}`);
          const r = await vmbackup(['render', '--repo', repo.work, '--out', dir, ...args]);
          assert.equal(r.code, 1, r.stdout + r.stderr);
          assert.match(r.stderr, located);
          assert.ok(!(r.stdout + r.stderr + await allText(dir)).includes(TOKEN), 'token leaked');
        });
      }

      test('validate: the same located error', async () => {
        const r = await vmbackup(['validate', '--repo', repo.work]);
        assert.equal(r.code, 1);
        assert.match(r.stdout, located);
      });
    });
  }
});

describe('terminal controls and weakened safety in plan and validate (real git)', () => {
  let repo: TestRepo;
  before(async () => {
    repo = await makeRepo(EXAMPLE_FLEET);
    await repo.git('checkout', '-q', '-b', 'pr/weaken');
    const builtin = await readFile(join(ROOT, 'templates', 'bacula-dir.conf.hbs'), 'utf8');
    await mkdir(join(repo.work, 'templates'));
    await writeFile(join(repo.work, 'templates', 'bacula-dir.conf.hbs'), `# \x1b]0;owned\x07\x1b[2J reviewed by nobody\n${builtin}`);
    await writeFile(join(repo.work, 'weaken.yaml'), 'settings:\n  ssh:\n    strict_host_key_checking: false\n  allow_mass_prune: true\n  max_prune_percent: 90\n');
    await repo.git('add', '-A');
    await repo.git('commit', '-q', '-m', 'weaken');
  });
  after(async () => repo.cleanup());

  test('text: ⚠ safety lines at the top, the rendered diff escaped', async () => {
    const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'main', '--head', 'HEAD', '--now', NOW]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^Plan: main/);
    assert.deepEqual(lines.slice(1, 5).map((l) => l.split(':').slice(0, 2).join(':')), [
      '⚠ safety: settings.ssh.strict_host_key_checking true → false',
      '⚠ safety: settings.allow_mass_prune false → true',
      '⚠ safety: settings.max_prune_percent 25 → 90',
      '⚠ safety: templates/bacula-dir.conf.hbs',
    ]);
    assert.doesNotMatch(r.stdout, RAW_CONTROL);
    assert.match(r.stdout, /\+# \\x1b\]0;owned\\x07\\x1b\[2J reviewed by nobody/);
  });

  test('markdown: a [!WARNING] block first; JSON: a safety array', async () => {
    const md = await vmbackup(['plan', '--repo', repo.work, '--base', 'main', '--format', 'markdown', '--now', NOW]);
    assert.equal(md.code, 2, md.stderr);
    assert.match(md.stdout, /^### vmbackup plan: `main \([0-9a-f]{12}\)` → `working tree`\n\n> \[!WARNING\]\n/);
    assert.match(md.stdout, /^> - ⚠ safety: `settings\.allow_mass_prune` `false` → `true`/m);
    assert.doesNotMatch(md.stdout, RAW_CONTROL);
    const js = await vmbackup(['plan', '--repo', repo.work, '--base', 'main', '--head', 'HEAD', '--format', 'json', '--now', NOW]);
    const plan = JSON.parse(js.stdout) as PolicyPlan;
    assert.deepEqual(plan.safety.map((s) => s.subject), ['settings.ssh.strict_host_key_checking', 'settings.allow_mass_prune', 'settings.max_prune_percent', 'templates/bacula-dir.conf.hbs']);
  });

  test('validate and plan: an ESC sequence in a YAML key is escaped in the diagnostics', async () => {
    await writeFile(join(repo.work, 'evil.yaml'), 'settings:\n  "\\e[2J\\e]0;x\\ashed": 1\n');
    try {
      const v = await vmbackup(['validate', '--repo', repo.work]);
      assert.equal(v.code, 1);
      assert.doesNotMatch(v.stdout + v.stderr, RAW_CONTROL);
      assert.match(v.stdout, /^evil\.yaml:2:3: error: .*\\x1b\[2J\\x1b\]0;x\\x07shed.*\[VMB_UNKNOWN_KEY\]$/m);
      const p = await vmbackup(['plan', '--repo', repo.work, '--base', 'main', '--now', NOW]);
      assert.equal(p.code, 1);
      assert.doesNotMatch(p.stdout + p.stderr, RAW_CONTROL);
      assert.match(p.stderr, /\\x1b\[2J/);
    } finally { await rm(join(repo.work, 'evil.yaml')); }
  });
});

describe('status text', () => {
  test('a VM name and reason with ESC sequences from status files print escaped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-untrusted-status-'));
    try {
      await mkdir(join(dir, 'repo', 'status', 'vms'), { recursive: true });
      await writeFile(join(dir, 'repo', 'status', 'vms', 'x.yaml'), 'vm: "\\e[2Jevil"\nhypervisor: hv1\nconditions:\n  - { type: Ready, status: "False", reason: "\\e]0;t\\a" }\n');
      const r = await vmbackup(['status', '--repo', join(dir, 'repo'), '--state-dir', join(dir, 'state')]);
      assert.doesNotMatch(r.stdout, RAW_CONTROL);
      assert.match(r.stdout, /^\\x1b\[2Jevil +hv1 +False +\\x1b\]0;t\\x07/m);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });
});
