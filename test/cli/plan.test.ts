import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { EXAMPLE_FLEET } from '../helpers/paths.js';
import type { PolicyPlan } from '../../src/core/policy-diff.js';

const NOW = '2026-11-22T12:00:00Z';

describe('vmbackup plan against a real git repo with a bare remote', () => {
  let repo: TestRepo;
  before(async () => {
    repo = await makeRepo(EXAMPLE_FLEET);
    await repo.git('checkout', '-q', '-b', 'pr/lower-retention');
    const list = join(repo.work, 'vm-list.yaml');
    const text = await readFile(list, 'utf8');
    // prod-db-01: 8 weeks -> 4 weeks; dev-test-vm removed; a new VM added.
    const lowered = text.replace(/(name: prod-db-01[\s\S]*?retention_weeks:) 8/, '$1 4').replace(/\n  - name: dev-test-vm[\s\S]*$/, '\n');
    await writeFile(list, lowered);
    await appendFile(join(repo.work, 'vms', 'dc1-services.yaml'), '\n  - name: prod-db-03\n    hypervisor: hypervisor-01\n    labels: { tier: critical }\n');
    await repo.git('commit', '-q', '-am', 'lower prod-db-01 retention, retire dev-test-vm, add prod-db-03');
  });
  after(async () => repo.cleanup());

  test('no change: exit 0', async () => {
    const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'HEAD', '--head', 'HEAD', '--now', NOW]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^No changes\./);
  });

  test('a change: exit 2, JSON lists exactly the restore points the new retention prunes', async () => {
    const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'origin/main', '--format', 'json', '--now', NOW]);
    assert.equal(r.code, 2, r.stderr);
    const plan = JSON.parse(r.stdout) as PolicyPlan;
    assert.deepEqual(plan.gained, ['prod-db-03']);
    assert.deepEqual(plan.lost, ['dev-test-vm']);
    const ret = plan.retention.find((x) => x.vm === 'prod-db-01')!;
    assert.deepEqual(ret.before, { keepWithin: '8w' });
    assert.deepEqual(ret.after, { keepWithin: '4w' });
    assert.deepEqual(ret.wouldPrune.map((p) => p.id), ['2026-10-03-170015', '2026-10-10-170015', '2026-10-17-170015', '2026-10-24-170015']);
    const sched = plan.schedules.find((s) => s.vm === 'prod-db-03')!;
    assert.equal(sched.after, 'weekly');
    assert.deepEqual(sched.nextRuns, ['2026-11-28T17:00:00.000Z', '2026-12-05T17:00:00.000Z', '2026-12-12T17:00:00.000Z'], 'Saturday 12:00 America/New_York');
    const conf = plan.renderDiff.find((d) => d.path === 'bacula-dir.conf' || d.patch.includes('backup-vm-prod-db-03'));
    assert.ok(conf, 'rendered Bacula diff is part of the plan');
    assert.match(conf.patch, /\+.*backup-vm-prod-db-03/);
    assert.match(conf.patch, /-.*backup-vm-dev-test-vm/);
  });

  test('markdown is a ready PR comment', async () => {
    const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'origin/main', '--format', 'markdown', '--now', NOW]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /^### vmbackup plan: `origin\/main \([0-9a-f]{12}\)` → `working tree`/);
    assert.match(r.stdout, /\| ⚠️ `prod-db-01` \| keep_within=8w \| keep_within=4w \| 🗑️ 2026-10-03-170015/);
    assert.match(r.stdout, /> ⛔ would be refused: prunes 4 of 8 points of `prod-db-01`/);
    assert.match(r.stdout, /\| `dev-test-vm` \| biweekly \| — \(no longer scheduled\) \| — \|/);
    assert.match(r.stdout, /\| `dev-test-vm` \| ⚠️ loses protection/);
    assert.match(r.stdout, /```diff\n/);
  });

  test('an invalid head: exit 1 with file:line:col on stderr', async () => {
    await appendFile(join(repo.work, 'settings.yaml'), '  sheduler: cron\n');
    try {
      const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'origin/main', '--now', NOW]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^settings\.yaml:\d+:3: error: settings\.sheduler: unknown key "sheduler"; did you mean "scheduler"\?/m);
    } finally {
      await repo.git('checkout', '--', 'settings.yaml');
    }
  });

  test('an unknown base revision: exit 1 with a clear message', async () => {
    const r = await vmbackup(['plan', '--repo', repo.work, '--base', 'no-such-branch']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown git revision "no-such-branch"/);
  });
});
