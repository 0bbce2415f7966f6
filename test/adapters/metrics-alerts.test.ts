// The shipped alert rules (examples/prometheus/vmbackup-alerts.yml) against the real promtool:
// they parse (`check rules`), and the unit tests make HypervisorUnreachable, StorageFull,
// NeverSucceeded and VmBackupFailed fire (`test rules`). docs/operations.md shows the same rules.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { ROOT } from '../helpers/paths.js';

const DIR = join(ROOT, 'examples/prometheus');

async function promtool(t: { skip: (m: string) => void }): Promise<boolean> {
  if ((await execa('promtool', ['--version'], { reject: false })).exitCode === 0) return true;
  if (process.env.CI === 'true') assert.fail('promtool is missing (test/setup.sh installs the prometheus package)');
  t.skip('promtool not installed');
  return false;
}

describe('alert rules under examples/prometheus', () => {
  test('promtool check rules accepts them', async (t) => {
    if (!(await promtool(t))) return;
    const r = await execa('promtool', ['check', 'rules', 'vmbackup-alerts.yml'], { cwd: DIR, reject: false });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
  });

  test('promtool test rules: each alert fires on the series the daemon exports', async (t) => {
    if (!(await promtool(t))) return;
    const r = await execa('promtool', ['test', 'rules', 'vmbackup-alerts.test.yml'], { cwd: DIR, reject: false });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    const spec = parse(await readFile(join(DIR, 'vmbackup-alerts.test.yml'), 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const firing = new Set(spec.tests.flatMap((x) => x.alert_rule_test).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname));
    for (const a of ['VmBackupHypervisorUnreachable', 'VmBackupStorageFull', 'VmBackupNeverSucceeded', 'VmBackupFailed']) assert.ok(firing.has(a), `${a} is tested firing`);
  });

  test('docs/operations.md shows the same rules as the file', async () => {
    const md = await readFile(join(ROOT, 'docs/operations.md'), 'utf8');
    const block = /```yaml\n(groups:[\s\S]*?)```/.exec(md);
    assert.ok(block, 'an alert rules block');
    assert.deepEqual(parse(block[1]!), parse(await readFile(join(DIR, 'vmbackup-alerts.yml'), 'utf8')));
  });
});
