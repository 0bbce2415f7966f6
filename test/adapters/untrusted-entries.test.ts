// Symlinks, submodules and special files in a policy repo: refused with a located error, never
// followed, and the same verdict on the working tree and on the committed revision (real git).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { EXAMPLE_FLEET } from '../helpers/paths.js';
import { formatDiagnostic, loadPolicyRepo } from '../../src/core/load.js';
import { readFilesUnder, readPolicyFilesFromDir, readRepoDirSync, readRepoFile } from '../../src/adapters/policy-files.js';
import { readFilesAtRevision, readPolicyFilesAtRevision } from '../../src/adapters/git/revision-files.js';
import { loadNotifyTemplates, NOTIFY_TEMPLATES } from '../../src/adapters/notify/templates.js';

const TOKEN = 'ghs_FAKEFAKEFAKEFAKEFAKE0123456789';

/** Diagnostics of the working tree and of HEAD, as printed lines. */
async function bothVerdicts(repo: TestRepo): Promise<{ tree: string[]; rev: string[]; treeOk: boolean; revOk: boolean }> {
  const t = loadPolicyRepo(await readPolicyFilesFromDir(repo.work));
  const r = loadPolicyRepo(await readPolicyFilesAtRevision(repo.work, 'HEAD'));
  return { tree: t.diagnostics.map(formatDiagnostic), rev: r.diagnostics.map(formatDiagnostic), treeOk: t.ok, revOk: r.ok };
}

describe('untrusted repository entries (real git)', () => {
  let repo: TestRepo;
  before(async () => {
    repo = await makeRepo(EXAMPLE_FLEET);
    await repo.git('remote', 'set-url', 'origin', `https://x-access-token:${TOKEN}@github.invalid/acme/policy.git`);
  });
  after(async () => repo.cleanup());

  /** Commits `setup`'s changes, checks both verdicts, then drops the commit again. */
  async function withCommit(setup: () => Promise<void>, check: (v: Awaited<ReturnType<typeof bothVerdicts>>) => void): Promise<void> {
    await setup();
    await repo.git('add', '-A');
    await repo.git('commit', '-q', '-m', 'untrusted change');
    try {
      check(await bothVerdicts(repo));
    } finally {
      await repo.git('reset', '-q', '--hard', 'HEAD~1');
      await repo.git('clean', '-qffdx');
    }
  }

  test('the untouched example fleet: valid both ways', async () => {
    const v = await bothVerdicts(repo);
    assert.equal(v.treeOk, true, v.tree.join('\n'));
    assert.deepEqual(v.tree, v.rev);
  });

  test('a symlinked *.yaml: VMB_SYMLINK at path:1:1, the same on the tree and the revision', async () => {
    await withCommit(async () => symlink('../vm-list.yaml', join(repo.work, 'vms', 'linked.yaml')), (v) => {
      assert.equal(v.treeOk, false);
      assert.deepEqual(v.tree, v.rev);
      assert.ok(v.tree.some((l) => /^vms\/linked\.yaml:1:1: error: .*symbolic link.*\[VMB_SYMLINK\]$/.test(l)), v.tree.join('\n'));
      assert.ok(!v.tree.some((l) => /duplicate VM name/.test(l)), 'the link is not followed');
    });
  });

  test('templates/ itself a symlink to .git: refused both ways, nothing read from it', async () => {
    await withCommit(async () => symlink('.git', join(repo.work, 'templates')), (v) => {
      assert.deepEqual(v.tree, v.rev);
      assert.deepEqual(v.tree.filter((l) => l.includes('VMB_SYMLINK')), ['templates:1:1: error: templates is a symbolic link; refused: vmbackup never follows links in the policy repository: commit the file itself [VMB_SYMLINK]']);
    });
    await symlink('.git', join(repo.work, 'templates'));
    try {
      assert.deepEqual([...(await readFilesUnder(repo.work, 'templates')).keys()], []);
    } finally { await rm(join(repo.work, 'templates')); }
  });

  test('a template symlinked to .git/config: refused, its target never read', async () => {
    await withCommit(async () => {
      await mkdir(join(repo.work, 'templates'));
      await symlink('../.git/config', join(repo.work, 'templates', 'bacula-dir.conf.hbs'));
      await writeFile(join(repo.work, 'templates', 'vmbackup.cron.hbs'), '# own cron template\n');
    }, (v) => {
      assert.deepEqual(v.tree, v.rev);
      assert.ok(v.tree.includes('templates/bacula-dir.conf.hbs:1:1: error: templates/bacula-dir.conf.hbs is a symbolic link; refused: vmbackup never follows links in the policy repository: commit the file itself [VMB_SYMLINK]'), v.tree.join('\n'));
    });
    await mkdir(join(repo.work, 'templates'));
    await symlink('../.git/config', join(repo.work, 'templates', 'bacula-dir.conf.hbs'));
    await writeFile(join(repo.work, 'templates', 'vmbackup.cron.hbs'), '# own cron template\n');
    try {
      const tpl = await readFilesUnder(repo.work, 'templates');
      assert.deepEqual([...tpl.keys()], ['vmbackup.cron.hbs']);
      assert.deepEqual(await readRepoFile(repo.work, 'templates/bacula-dir.conf.hbs'), { refused: 'symlink' });
      await repo.git('add', '-A');
      await repo.git('commit', '-q', '-m', 'linked template');
      const atRev = await readFilesAtRevision(repo.work, 'HEAD', (p) => p.startsWith('templates/'));
      assert.deepEqual(atRev.map((f) => f.path), ['templates/vmbackup.cron.hbs']);
      await repo.git('reset', '-q', '--hard', 'HEAD~1');
    } finally { await rm(join(repo.work, 'templates'), { recursive: true, force: true }); }
  });

  test('a symlinked folder among the policy folders: refused both ways', async () => {
    await withCommit(async () => symlink('vms', join(repo.work, 'more-vms')), (v) => {
      assert.deepEqual(v.tree, v.rev);
      assert.ok(v.tree.some((l) => l.startsWith('more-vms:1:1: error: more-vms is a symbolic link')), v.tree.join('\n'));
    });
  });

  test('a symlink in status/ (read by plan): refused both ways; links under hidden folders are not policy', async () => {
    await withCommit(async () => {
      await symlink('../../.git/config', join(repo.work, 'status', 'vms', 'x.yaml'));
      await mkdir(join(repo.work, '.github'));
      await symlink('../README', join(repo.work, '.github', 'README'));
    }, (v) => {
      assert.deepEqual(v.tree, v.rev);
      assert.deepEqual(v.tree.filter((l) => /VMB_/.test(l)).map((l) => l.split(':')[0]), ['status/vms/x.yaml']);
    });
  });

  test('a submodule (gitlink) in the revision and a nested clone on disk: VMB_NOT_REGULAR_FILE both ways', async () => {
    const head = (await repo.git('rev-parse', 'HEAD')).trim();
    await withCommit(async () => {
      await execa('git', ['clone', '-q', repo.bare, join(repo.work, 'vendored')]);
      await repo.git('update-index', '--add', '--cacheinfo', `160000,${head},vendored`);
    }, (v) => {
      assert.deepEqual(v.tree, v.rev);
      assert.ok(v.tree.includes('vendored:1:1: error: vendored is a git submodule; refused: the policy repository may hold only regular files and folders [VMB_NOT_REGULAR_FILE]'), v.tree.join('\n'));
    });
  });

  test('a FIFO named *.yaml on the working tree: refused without blocking on it', async () => {
    const fifo = join(repo.work, 'vms', 'pipe.yaml');
    await execa('mkfifo', ['--', fifo]);
    try {
      const t = loadPolicyRepo(await readPolicyFilesFromDir(repo.work));
      assert.ok(t.diagnostics.map(formatDiagnostic).includes('vms/pipe.yaml:1:1: error: vms/pipe.yaml is a FIFO; refused: the policy repository may hold only regular files and folders [VMB_NOT_REGULAR_FILE]'));
      assert.deepEqual(await readRepoFile(repo.work, 'vms/pipe.yaml'), { refused: 'fifo' });
    } finally { await rm(fifo); }
  });

  test('notification templates: a linked override (or a linked templates/) is never read; the built-in is used', async () => {
    const dir = join(repo.work, 'templates');
    await mkdir(dir);
    await symlink('../.git/config', join(dir, NOTIFY_TEMPLATES.emailBody));
    await writeFile(join(dir, NOTIFY_TEMPLATES.emailSubject), 'ALERT {{vm}}');
    try {
      const t = await loadNotifyTemplates(repo.work);
      assert.deepEqual(t.overridden, [NOTIFY_TEMPLATES.emailSubject]);
      await rm(dir, { recursive: true });
      await symlink('.git', dir);
      await writeFile(join(repo.work, '.git', NOTIFY_TEMPLATES.emailSubject), `leak ${TOKEN}`);
      assert.deepEqual((await loadNotifyTemplates(repo.work)).overridden, []);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  test('status files for plan (readRepoDirSync): only regular files, never through a link', async () => {
    const vmsDir = join(repo.work, 'status', 'vms');
    const regular = readRepoDirSync(repo.work, 'status/vms', (n) => n.endsWith('.yaml'));
    assert.ok(regular.size > 0);
    await symlink('../../.git/config', join(vmsDir, 'zz-link.yaml'));
    await execa('mkfifo', ['--', join(vmsDir, 'zz-fifo.yaml')]);
    await symlink('status', join(repo.work, 'linked-status'));
    try {
      assert.deepEqual([...readRepoDirSync(repo.work, 'status/vms', (n) => n.endsWith('.yaml')).keys()], [...regular.keys()]);
      assert.equal(readRepoDirSync(repo.work, 'linked-status/vms', () => true).size, 0);
      assert.equal(readRepoDirSync(repo.work, '../work/status/vms', () => true).size, 0);
    } finally {
      for (const f of [join(vmsDir, 'zz-link.yaml'), join(vmsDir, 'zz-fifo.yaml'), join(repo.work, 'linked-status')]) await rm(f);
    }
  });
});
