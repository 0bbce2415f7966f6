// `vmbackup agent install` over real ssh to the lab's hv1 (runs_on: hypervisor), into a scratch
// --root (the namespace hypervisors share this filesystem: never the real /usr/bin, /opt, /etc).
// A fake systemctl (given with --systemctl) records the bacula-fd restarts.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { ROOT } from '../helpers/paths.js';
import { VERSION } from '../../src/version.js';

const SECRET = 'fd-Pw-7f3a9c2e1b';

describe('vmbackup agent install on hv1 (real ssh, --root scratch)', () => {
  const root = `/var/tmp/vmb-agent-${process.pid}`;
  const bin = `/var/tmp/vmb-agent-bin-${process.pid}`;
  const restarts = `${bin}/restarts.log`;
  let env: LabEnv | undefined;
  const outputs: string[] = [];
  after(async () => { await rm(root, { recursive: true, force: true }); await rm(bin, { recursive: true, force: true }); await env?.cleanup(); });

  const run = async (...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const x = await execa(process.execPath, [`${bin}/pkg/dist/src/main.js`, 'agent', 'install', '--host', 'hv1', '--repo', env!.repo, '--state-dir', env!.stateDir, '--root', root, '--systemctl', `${bin}/systemctl`, ...extra], { reject: false, env: { NO_COLOR: '1', HV1_FD_PASSWORD: SECRET } });
    const r = { code: x.exitCode ?? -1, stdout: String(x.stdout), stderr: String(x.stderr) };
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const count = async (): Promise<number> => (await readFile(restarts, 'utf8').catch(() => '')).split('\n').filter((l) => l === 'restart bacula-fd').length;
  const fdConf = `${root}/etc/bacula/bacula-fd.conf`;

  test('install, idempotence, drift with a redacted diff, --check, --yes, symlink refusal; the secret never printed', async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    env = await labEnv(lab, { hostOverrides: { hv1: { runs_on: 'hypervisor', fd_password: { env: 'HV1_FD_PASSWORD' } } } });
    await mkdir(`${bin}/pkg/dist`, { recursive: true });
    // A frozen copy of this build (others rebuild dist/ meanwhile; the installer ships the package it runs from).
    await execa('cp', ['-a', '--', `${ROOT}/package.json`, `${ROOT}/schemas`, `${ROOT}/templates`, `${bin}/pkg/`]);
    await execa('cp', ['-a', '--', `${ROOT}/dist/src`, `${ROOT}/dist/schemas`, `${bin}/pkg/dist/`]);
    await symlink(`${ROOT}/node_modules`, `${bin}/pkg/node_modules`);
    await writeFile(`${bin}/systemctl`, `#!/bin/sh\necho "$*" >> ${restarts}\n`);
    await chmod(`${bin}/systemctl`, 0o755);

    // 1. First install: everything is created, no --yes needed, bacula-fd restarted once.
    const t0 = performance.now();
    const first = await run();
    const firstMs = performance.now() - t0;
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal((first.stdout.match(/^ {2}install /gm) ?? []).length, 4, first.stdout);
    assert.match(first.stdout, /^installed$/m);
    assert.equal((await lstat(`${root}/usr/bin/vmbackup`)).mode & 0o7777, 0o755);
    const wrapper = await readFile(`${root}/usr/bin/vmbackup`, 'utf8');
    assert.match(await readFile(`${root}/usr/bin/vmbackup`, 'utf8'), new RegExp(`exec node /opt/vmbackup/${VERSION.replace(/\./g, '\\.')}/dist/src/main\\.js "\\$@"`));
    assert.equal((await lstat(fdConf)).mode & 0o7777, 0o640);
    const conf = await readFile(fdConf, 'utf8');
    assert.match(conf, /Name = "hv1-fd"/);
    assert.ok(conf.includes(`Password = "${SECRET}"`), 'the fd has the Director\'s password');
    assert.equal((await lstat(`${root}/var/lib/vmbackup`)).mode & 0o7777, 0o750);
    assert.match(await readFile(`${root}/opt/vmbackup/${VERSION}/.manifest`, 'utf8'), /^[0-9a-f]{64} {2}dist\/src\/main\.js$/m);
    assert.equal(await count(), 1);
    // The shipped tree is complete: the installed vmbackup (its own node_modules) validates the policy.
    const v = await execa('node', [`${root}/opt/vmbackup/${VERSION}/dist/src/main.js`, 'validate', '--repo', env.repo], { reject: false });
    assert.equal(v.exitCode, 0, String(v.stdout) + String(v.stderr));
    // bacula-fd accepts the rendered configuration (its RHEL working/pid directories pointed at scratch ones here).
    await mkdir(`${bin}/work`, { recursive: true });
    await writeFile(`${bin}/fd-t.conf`, conf.replace('"/var/spool/bacula"', `"${bin}/work"`).replace('"/var/run"', `"${bin}/work"`));
    const fdt = await execa('bacula-fd', ['-t', '-c', `${bin}/fd-t.conf`], { reject: false });
    assert.equal(fdt.exitCode, 0, String(fdt.stdout) + String(fdt.stderr));
    console.log(`# first install over ssh: ${Math.round(firstMs)} ms`);

    // 2. A second run changes nothing.
    const second = await run();
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal((second.stdout.match(/^ {2}unchanged /gm) ?? []).length, 4, second.stdout);
    assert.match(second.stdout, /^no changes/m);
    assert.equal(await count(), 1);

    // 3. A hand-edited bacula-fd.conf: the diff (password redacted), nothing changed, exit 2.
    const edited = conf.replace('FDport = 9102', 'FDport = 9999').replace(SECRET, 'hand-typed-pw');
    await writeFile(fdConf, edited);
    const drift = await run();
    assert.equal(drift.code, 2, drift.stdout + drift.stderr);
    assert.match(drift.stdout, /^-\s+FDport = 9999$/m);
    assert.match(drift.stdout, /^\+\s+FDport = 9102$/m);
    assert.match(drift.stdout, /^-\s+Password = "\[redacted, differs\]"$/m);
    assert.match(drift.stdout, /^\+\s+Password = "\[redacted\]"$/m);
    assert.ok(!drift.stdout.includes('hand-typed-pw'));
    assert.match(drift.stdout, /rerun with --yes/);
    assert.equal(await readFile(fdConf, 'utf8'), edited, 'nothing changed without --yes');
    assert.equal(await count(), 1);

    // 4. --check reports the drift and exits 1, changing nothing.
    const check = await run('--check');
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stdout, /^drift/m);
    assert.equal(await readFile(fdConf, 'utf8'), edited);

    // 5. --yes replaces it and restarts bacula-fd; then --check is clean (exit 0).
    const yes = await run('--yes');
    assert.equal(yes.code, 0, yes.stdout + yes.stderr);
    assert.equal(await readFile(fdConf, 'utf8'), conf);
    assert.equal(await count(), 2);
    const clean = await run('--check', '--json');
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    const j = JSON.parse(clean.stdout) as { outcome: string; changed: boolean; steps: { action: string }[] };
    assert.equal(j.outcome, 'no-changes');
    assert.equal(j.changed, false);
    assert.deepEqual(j.steps.map((s) => s.action), ['unchanged', 'unchanged', 'unchanged', 'unchanged']);

    // 6. A symlink at a destination is refused (even with --yes), and left as it is.
    await unlink(`${root}/usr/bin/vmbackup`);
    await symlink('/etc/hostname', `${root}/usr/bin/vmbackup`);
    for (const flags of [[], ['--yes'], ['--json', '--yes']]) {
      const r = await run(...flags);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, flags.includes('--json') ? /"action": "refuse"/ : /refuse\s+\S+\/usr\/bin\/vmbackup .*symbolic link/);
      assert.match(r.stdout, flags.includes('--json') ? /"outcome": "refused"/ : /VMB_AGENT_REFUSED/);
    }
    assert.equal(await readlink(`${root}/usr/bin/vmbackup`), '/etc/hostname');
    await unlink(`${root}/usr/bin/vmbackup`);
    await writeFile(`${root}/usr/bin/vmbackup`, wrapper, { mode: 0o755 });
    // … and so is a destination whose directory is a symlink (bacula-fd.conf would land elsewhere).
    await rm(`${root}/etc/bacula`, { recursive: true });
    await mkdir(`${bin}/elsewhere`);
    await symlink(`${bin}/elsewhere`, `${root}/etc/bacula`);
    const viaDir = await run('--yes');
    assert.equal(viaDir.code, 1, viaDir.stdout + viaDir.stderr);
    assert.match(viaDir.stdout, /refuse\s+\S+\/etc\/bacula\/bacula-fd\.conf .*its directory \S+\/etc\/bacula is a symbolic link/);
    assert.deepEqual(await readdir(`${bin}/elsewhere`), []);
    assert.equal(await count(), 2);

    // A runs_on: control hypervisor is not installed on (nothing written for it).
    const ctl = await execa(process.execPath, [`${bin}/pkg/dist/src/main.js`, 'agent', 'install', '--host', 'hv2', '--json', '--repo', env.repo, '--state-dir', env.stateDir, '--root', `${root}/hv2`, '--systemctl', `${bin}/systemctl`], { reject: false, env: { HV1_FD_PASSWORD: SECRET } });
    assert.equal(ctl.exitCode, 1);
    assert.equal((JSON.parse(String(ctl.stdout)) as { error: { code: string } }).error.code, 'VMB_AGENT_HOST');
    await assert.rejects(lstat(`${root}/hv2`));

    // The secret never appeared in any stdout, stderr or --json output.
    for (const o of outputs) assert.ok(!o.includes(SECRET), 'the fd password leaked into output');
  });
  test('a hypervisor whose Node.js is older than 20 is refused before anything is written (VMB_AGENT_NODE)', async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const e = await labEnv(lab, { hostOverrides: { local: { runs_on: 'hypervisor', fd_password: { env: 'HV1_FD_PASSWORD' } } } });
    // A fake `node` first on PATH (the local transport's PATH): an old Node.js cannot be had on demand.
    const fake = `${bin}-oldnode`;
    try {
      await mkdir(fake, { recursive: true });
      await writeFile(`${fake}/node`, '#!/bin/sh\necho v18.19.0\n', { mode: 0o755 });
      const r = await execa(process.execPath, [`${ROOT}/dist/src/main.js`, 'agent', 'install', '--host', 'local', '--json', '--repo', e.repo, '--state-dir', e.stateDir, '--root', `${fake}/root`], { reject: false, env: { HV1_FD_PASSWORD: SECRET, PATH: `${fake}:${process.env.PATH}` } });
      assert.equal(r.exitCode, 1, String(r.stdout) + String(r.stderr));
      const err = (JSON.parse(String(r.stdout)) as { error: { code: string; message: string } }).error;
      assert.equal(err.code, 'VMB_AGENT_NODE');
      assert.match(err.message, /v18\.19\.0 is too old; vmbackup needs 20 or later/);
      await assert.rejects(lstat(`${fake}/root`));
    } finally {
      await rm(fake, { recursive: true, force: true });
      await e.cleanup();
    }
  });
});
