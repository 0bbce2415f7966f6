// Issue 10: `plan` on a real git repo warns in the PR comment (mass-prune refusal, ⚠️ cuts) and a broken PR still gets a comment.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { EXAMPLE_FLEET } from '../helpers/paths.js';

const NOW = '2026-11-22T12:00:00Z';

describe('vmbackup plan: comments that warn (real git)', () => {
  let repo: TestRepo;
  before(async () => {
    repo = await makeRepo(EXAMPLE_FLEET);
    await repo.git('checkout', '-q', '-b', 'pr/cut');
    const list = join(repo.work, 'vm-list.yaml');
    // prod-db-01: 8 weeks -> 1 week, which prunes most of its recorded points.
    await writeFile(list, (await readFile(list, 'utf8')).replace(/(name: prod-db-01[\s\S]*?retention_weeks:) 8/, '$1 1'));
    await repo.git('commit', '-q', '-am', 'cut prod-db-01 retention to one week');
  });
  after(async () => repo.cleanup());

  test('markdown: the guard refusal and the ⚠️ cut are in the comment', async () => {
    const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'origin/main', '--format', 'markdown', '--now', NOW]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /> \[!CAUTION\]\n> ⛔ would be refused: prunes \d+ of \d+ points of `prod-db-01`/);
    assert.match(r.stdout, /\| ⚠️ `prod-db-01` \| keep_within=8w \| keep_within=1w \|/);
  });

  test('an invalid head: markdown lists the errors as a comment, exit 1', async () => {
    await mkdir(join(repo.work, 'vms'), { recursive: true });
    await appendFile(join(repo.work, 'vms', 'dc1-services.yaml'), '\n  - name: prod-db-09\n    hypervisor: hypervisor-01\n    policy: standrad\n');
    try {
      const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'origin/main', '--format', 'markdown', '--now', NOW]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^### vmbackup plan: `origin\/main \([0-9a-f]{12}\)` → `working tree`/);
      assert.match(r.stdout, /> \*\*`working tree` is invalid: \d+ errors?/);
      assert.match(r.stdout, /\| `vms\/dc1-services\.yaml:\d+:\d+` \| error \| policy "standrad" is not defined; did you mean "standard"\? \| `VMB_UNKNOWN_POLICY` \|/);
      const j = await vmbackup(['plan', '--repo', repo.work, '--base', 'origin/main', '--format', 'json', '--now', NOW]);
      assert.equal(j.code, 1);
      const parsed = JSON.parse(j.stdout) as { error: { code: string; diagnostics: { code: string }[] } };
      assert.equal(parsed.error.code, 'INVALID_POLICY');
      assert.ok(parsed.error.diagnostics.some((d) => d.code === 'VMB_UNKNOWN_POLICY'));
    } finally {
      await repo.git('checkout', '--', 'vms/dc1-services.yaml');
    }
  });
});
