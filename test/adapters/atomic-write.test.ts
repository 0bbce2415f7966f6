// Local files: writeFileAtomic (unpredictable exclusive temp, exact mode and owner before the
// rename, nothing left behind) and the modes of installed Bacula files: a file holding a filled-in
// secret is 0600/0640 whatever the old file's mode, through the real apply path (render, fill, install).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/adapters/atomic-write.js';
import { installMode } from '../../src/adapters/file-mode.js';
import { applyDirectorConfig, DirectorConfigError } from '../../src/adapters/bacula/director-config.js';
import { applyDesired } from '../../src/daemon/apply.js';
import { loadPolicyRepo } from '../../src/core/load.js';
import { resolveTemplates } from '../../src/adapters/templates.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o7777;

describe('writeFileAtomic', () => {
  let dir = '';
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'vmb-aw-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('the exact mode under any umask, nothing left behind', async () => {
    const p = join(dir, 'a.conf');
    for (const [umask, m] of [[0o000, 0o600], [0o077, 0o644], [0o022, 0o640]] as const) {
      const old = process.umask(umask);
      try { await writeFileAtomic(p, `mode ${m}`, m); } finally { process.umask(old); }
      assert.equal(await mode(p), m);
      assert.equal(await readFile(p, 'utf8'), `mode ${m}`);
    }
    assert.deepEqual(await readdir(dir), ['a.conf']);
  });

  test('concurrent writers never share a temp file; readers see one whole version', async () => {
    const p = join(dir, 'race.conf');
    const versions = Array.from({ length: 30 }, (_, i) => `v${i}-`.repeat(2000));
    await Promise.all(versions.map((v) => writeFileAtomic(p, v, 0o600)));
    assert.ok(versions.includes(await readFile(p, 'utf8')));
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('race')), ['race.conf']);
  });

  test('a symlink at the target is replaced, its target untouched', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'keep');
    const p = join(dir, 'link.conf');
    await symlink(victim, p);
    await writeFileAtomic(p, 'new', 0o600);
    assert.equal(await readFile(victim, 'utf8'), 'keep');
    assert.ok((await lstat(p)).isFile());
  });

  test('owner given: set on the temp file before it is renamed in', async (t) => {
    if (!asRoot && process.env.CI !== 'true') { t.skip('needs root to chown'); return; }
    const p = join(dir, 'owned.conf');
    await writeFileAtomic(p, 'x', 0o640, { uid: NOBODY, gid: NOBODY });
    const st = await stat(p);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [NOBODY, NOBODY, 0o640]);
  });

  test('a failed rename leaves no temp file', async () => {
    const p = join(dir, 'isdir');
    await mkdir(join(p, 'sub'), { recursive: true });
    await assert.rejects(writeFileAtomic(p, 'x'));
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.tmp')), []);
  });
});

describe('installed file modes', () => {
  test('the rule, table-tested', () => {
    const f = (m: number) => ({ mode: m, uid: 0, gid: 7 });
    assert.deepEqual(installMode(0o600, f(0o644), undefined, true), { mode: 0o640, owner: { uid: 0, gid: 7 } });
    assert.deepEqual(installMode(0o600, f(0o666), undefined, true), { mode: 0o640, owner: { uid: 0, gid: 7 } });
    assert.deepEqual(installMode(0o600, f(0o604), undefined, true), { mode: 0o600, owner: { uid: 0, gid: 7 } });
    assert.deepEqual(installMode(0o600, f(0o600), undefined, false), { mode: 0o600 });
    assert.deepEqual(installMode(0o600, undefined, f(0o750), true), { mode: 0o640, owner: { uid: 0, gid: 7 } });
    assert.deepEqual(installMode(0o600, undefined, f(0o700), true), { mode: 0o600 });
    assert.deepEqual(installMode(0o644, f(0o664), undefined, true), { mode: 0o664, owner: { uid: 0, gid: 7 } });
    assert.deepEqual(installMode(0o644, undefined, f(0o755), true), { mode: 0o644 });
  });

  let dir = '';
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'vmb-modes-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  const policy = (workDir: string, vms: string) => [
    'settings:', '  scheduler: bacula', '  bacula:', '    director_name: vmbackup-dir', '    director_address: 127.0.0.1', '    director_port: 9101',
    '    password: { env: TEST_DIR_PASSWORD }', `    working_directory: ${workDir}`, `    pid_directory: ${workDir}`, `    log_file: ${workDir}/log`,
    '    catalog: { db_name: bacula, db_user: "" }', '    command: /usr/local/bin/vmbackup', '    repo_path: /tmp',
    'hypervisors: [{ name: hv1 }]', 'vms:', vms,
  ].join('\n');

  async function apply(confDir: string, vms: string): Promise<string[]> {
    const load = loadPolicyRepo([{ path: 'r.yaml', text: policy(join(dir, 'work'), vms) }]);
    assert.equal(load.ok, true, JSON.stringify(load.diagnostics));
    const r = await applyDesired(load.desired, await resolveTemplates(new Map()), { baculaConfigDir: confDir, cronFile: join(dir, 'unused.cron'), baculaBinary: '/bin/true' }, { TEST_DIR_PASSWORD: 'pw-s3cret', BACULA_FD_PASSWORD: 'fd-s3cret', BACULA_SD_PASSWORD: 'sd-s3cret' });
    return r.changed;
  }

  test('apply over an old 0644 bacula-dir.conf (root:bacula-like group): the file holding the password becomes 0640, owner and group kept', async () => {
    const conf = join(dir, 'etc1');
    await mkdir(conf, { mode: 0o750 });
    const main = join(conf, 'bacula-dir.conf');
    await writeFile(main, 'old\n');
    await chmod(main, 0o644);
    if (asRoot) await chown(main, 0, NOBODY);
    const changed = await apply(conf, '  - { name: vm1, hypervisor: hv1, schedule: weekly, retention_weeks: 2 }');
    assert.ok(changed.includes('bacula-dir.conf'));
    const text = await readFile(main, 'utf8');
    assert.ok(text.includes('pw-s3cret'), 'the secret was filled in this file');
    const st = await stat(main);
    assert.equal(st.mode & 0o777, 0o640, `mode 0${(st.mode & 0o777).toString(8)}`);
    if (asRoot) assert.deepEqual([st.uid, st.gid], [0, NOBODY]);
    // Every file holding the secret is private; files without it keep 0644.
    for (const name of await readdir(conf)) {
      const p = join(conf, name);
      const m = await mode(p);
      if ((await readFile(p, 'utf8')).includes('pw-s3cret')) assert.ok((m & 0o037) === 0, `${name} holds the secret and is 0${m.toString(8)}`);
    }
  });

  test('an old 0600 file stays 0600; a new file in a 0700 directory is 0600; in a group-readable directory 0640 with its group', async () => {
    const conf = join(dir, 'etc2');
    await mkdir(conf, { mode: 0o700 });
    await chmod(conf, 0o700);
    await apply(conf, '  - { name: vm1, hypervisor: hv1, schedule: weekly, retention_weeks: 2 }');
    assert.equal(await mode(join(conf, 'bacula-dir.conf')), 0o600);
    await apply(conf, '  - { name: vm2, hypervisor: hv1, schedule: weekly, retention_weeks: 2 }');
    assert.equal(await mode(join(conf, 'bacula-dir.conf')), 0o600);
    const shared = join(dir, 'etc3');
    await mkdir(shared);
    await chmod(shared, 0o750);
    if (asRoot) await chown(shared, 0, NOBODY);
    await apply(shared, '  - { name: vm1, hypervisor: hv1, schedule: weekly, retention_weeks: 2 }');
    const st = await stat(join(shared, 'bacula-dir.conf'));
    assert.equal(st.mode & 0o777, 0o640);
    if (asRoot) assert.equal(st.gid, NOBODY);
  });

  test('a rejected config is restored with the private mode, not the old 0644', async () => {
    const conf = join(dir, 'etc4');
    await mkdir(conf, { mode: 0o700 });
    const p = join(conf, 'bacula-dir.conf');
    await writeFile(p, 'Password = "old-secret"\n');
    await chmod(p, 0o644);
    await assert.rejects(applyDirectorConfig(conf, 'bacula-dir.conf', [{ path: 'bacula-dir.conf', content: 'Password = "new-secret"\n', mode: 0o600 }], undefined, '/bin/false'), DirectorConfigError);
    assert.equal(await readFile(p, 'utf8'), 'Password = "old-secret"\n');
    assert.equal(await mode(p), 0o640);
  });
});
