// The Bacula apply path against a real director: render, fill secrets, test with bacula-dir -t,
// write atomically, reload through bconsole; a broken config is rolled back and never loaded;
// a job run through bconsole ends T or E by its RunScript's exit code.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPolicyRepo } from '../../src/core/load.js';
import { renderBacula } from '../../src/core/render.js';
import { fillSecrets } from '../../src/core/secrets-fill.js';
import { resolveTemplates } from '../../src/adapters/templates.js';
import { Bconsole } from '../../src/adapters/bacula/bconsole.js';
import { applyDirectorConfig, DirectorConfigError } from '../../src/adapters/bacula/director-config.js';
import { baculaOrSkip, scratchDirector, type Director } from '../helpers/bacula.js';

function repo(d: Director, command: string, vms: string): string {
  return `settings:\n  scheduler: bacula\n${d.settingsYaml}\n    command: ${command}\n    repo_path: /tmp\nhypervisors: [{ name: hv1 }]\nvms:\n${vms}`;
}

async function rendered(d: Director, yaml: string): Promise<{ path: string; content: string; mode: number }[]> {
  const load = loadPolicyRepo([{ path: 'r.yaml', text: yaml }]);
  assert.equal(load.ok, true, JSON.stringify(load.diagnostics));
  const files = renderBacula(load.desired, await resolveTemplates(new Map()));
  return files.map((f) => {
    const r = fillSecrets(f.content, (ref) => ('env' in ref && ref.env === 'TEST_BACULA_DIR_PASSWORD' ? d.password : 'other-secret'));
    assert.deepEqual(r.missing, []);
    return { ...f, content: r.text };
  });
}

describe('Bacula apply against a real director', () => {
  let d: Director | undefined;
  let hook = '';
  before(async () => {
    if (!(await import('node:fs')).existsSync('/usr/sbin/bacula-dir')) return;
    d = await scratchDirector();
    hook = join(d.dir, 'hook.sh');
    await writeFile(hook, '#!/bin/sh\n# $2 is the VM name; exit 3 for "bad-vm"\necho "hook $*"\n[ "$2" = bad-vm ] && exit 3\nexit 0\n');
    await chmod(hook, 0o755);
  });
  after(async () => d?.stop());

  test('apply: -t passes, files written with secrets filled, director reloads and runs jobs T/E', async (t) => {
    if (!baculaOrSkip(t)) return;
    const dir = d!.dir;
    const files = await rendered(d!, repo(d!, hook, '  - { name: good-vm, hypervisor: hv1, schedule: weekly, retention_weeks: 2, priority: 3 }\n'));
    const r1 = await applyDirectorConfig(dir, 'bacula-dir.conf', files, undefined);
    assert.deepEqual(r1, { changed: true, files: ['bacula-dir.conf'], reloaded: false });
    assert.match(await readFile(join(dir, 'bacula-dir.conf'), 'utf8'), /Password = "pw-\d+-\\"quoted\\\\"/);
    await d!.start(join(dir, 'bacula-dir.conf'));
    const con = new Bconsole(d!.bconsoleConf);
    assert.deepEqual((await con.jobs()).filter((j) => j.startsWith('backup-vm-')), ['backup-vm-good-vm']);
    // Same content again: nothing written, nothing reloaded.
    assert.equal((await applyDirectorConfig(dir, 'bacula-dir.conf', files, con)).changed, false);
    // Add a VM: written, tested, reloaded; the director knows the new job.
    const files2 = await rendered(d!, repo(d!, hook, '  - { name: good-vm, hypervisor: hv1, schedule: weekly, retention_weeks: 2, priority: 3 }\n  - { name: bad-vm, hypervisor: hv1, schedule: daily, retention_weeks: 2 }\n'));
    const r2 = await applyDirectorConfig(dir, 'bacula-dir.conf', files2, con);
    assert.equal(r2.reloaded, true);
    assert.deepEqual((await con.jobs()).filter((j) => j.startsWith('backup-vm-')).sort(), ['backup-vm-bad-vm', 'backup-vm-good-vm']);
    const ok = await con.run('backup-vm-good-vm');
    assert.equal((await con.wait(ok, 60_000)).status, 'T');
    const bad = await con.run('backup-vm-bad-vm');
    assert.equal((await con.wait(bad, 60_000)).status, 'E');
  });

  test('a config bacula-dir -t rejects is rolled back and never loaded', async (t) => {
    if (!baculaOrSkip(t)) return;
    const dir = d!.dir;
    const before = await readFile(join(dir, 'bacula-dir.conf'), 'utf8');
    const broken = [{ path: 'bacula-dir.conf', content: before + '\nJob {\n  Name = "unclosed"\n', mode: 0o600 }];
    const con = new Bconsole(d!.bconsoleConf);
    await assert.rejects(applyDirectorConfig(dir, 'bacula-dir.conf', broken, con), (e: unknown) => e instanceof DirectorConfigError && /previous files were restored/.test(e.message));
    assert.equal(await readFile(join(dir, 'bacula-dir.conf'), 'utf8'), before);
    assert.ok((await con.jobs()).includes('backup-vm-bad-vm'), 'the director still runs the last good config');
  });
});
