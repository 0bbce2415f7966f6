// systemd/install.sh against a scratch root (useradd/groupadd --root on a copy of this host's
// passwd and group files): creates what it should with the right modes, is idempotent, and
// --dry-run changes nothing.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';

const SCRIPT = join(ROOT, 'systemd/install.sh');
const isRoot = process.getuid?.() === 0;

async function scratch(withBacula: boolean): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'vmb-install-'));
  await mkdir(join(root, 'etc'), { recursive: true });
  for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) {
    if (existsSync(`/etc/${f}`)) await copyFile(`/etc/${f}`, join(root, 'etc', f));
  }
  if (withBacula) await mkdir(join(root, 'etc/bacula'));
  return root;
}

function install(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    const s = await lstat(p);
    out.push(`${p.slice(dir.length)} ${s.mode.toString(8)} ${s.uid}:${s.gid} ${s.isFile() ? (await readFile(p)).length : ''}`);
  }
  return out.sort();
}

const mode = async (p: string) => ((await stat(p)).mode & 0o7777).toString(8);

describe('systemd/install.sh', () => {
  const roots: string[] = [];
  after(async () => { for (const r of roots) await rm(r, { recursive: true, force: true }); });

  test('bash -n and --help', () => {
    assert.equal(spawnSync('bash', ['-n', SCRIPT]).status, 0);
    const h = install(['--help']);
    assert.equal(h.status, 0);
    assert.match(h.out, /--dry-run/);
    assert.equal(install(['--bogus']).status, 2);
  });

  test('--dry-run says what it would do and changes nothing', { skip: !isRoot && 'needs root (useradd --root)' }, async () => {
    const root = await scratch(true); roots.push(root);
    const before = await tree(root);
    const r = install(['--dry-run', '--root', root]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /would: create system group vmbackup/);
    assert.match(r.out, /would: install \/etc\/systemd\/system\/vmbackup\.service/);
    assert.match(r.out, /would: install \/etc\/systemd\/system\/vmbackup-schedule\.path/);
    assert.match(r.out, /would: install \/etc\/systemd\/system\/vmbackup-schedule\.service/);
    assert.match(r.out, /would: enable vmbackup-schedule\.path/);
    assert.match(r.out, /systemd-creds encrypt/);
    assert.deepEqual(await tree(root), before);
  });

  test('installs user, dirs, unit and env file with their modes; a second run changes nothing', { skip: !isRoot && 'needs root (chown, useradd --root)' }, async () => {
    const root = await scratch(true); roots.push(root);
    const first = install(['--root', root, '--storage', '/nonexistent-storage']);
    assert.equal(first.status, 0, first.out);
    const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
    const user = /^vmbackup:x:(\d+):(\d+):[^:]*:\/var\/lib\/vmbackup:/m.exec(passwd);
    assert.ok(user, 'system user vmbackup with home /var/lib/vmbackup');
    const gid = Number(user[2]);
    assert.equal(await mode(join(root, 'etc/vmbackup')), '750');
    assert.equal(await mode(join(root, 'var/lib/vmbackup')), '2770');
    assert.equal((await stat(join(root, 'var/lib/vmbackup'))).uid, Number(user[1]));
    assert.equal(await mode(join(root, 'etc/bacula')), '2775');
    assert.equal((await stat(join(root, 'etc/bacula'))).gid, gid);
    assert.equal(await mode(join(root, 'etc/credstore.encrypted')), '700');
    assert.equal(await readFile(join(root, 'etc/systemd/system/vmbackup.service'), 'utf8'), await readFile(join(ROOT, 'systemd/vmbackup.service'), 'utf8'));
    for (const u of ['vmbackup-schedule.path', 'vmbackup-schedule.service']) {
      assert.equal(await readFile(join(root, 'etc/systemd/system', u), 'utf8'), await readFile(join(ROOT, 'systemd', u), 'utf8'), u);
      assert.equal(await mode(join(root, 'etc/systemd/system', u)), '644');
    }
    // Enabled as `systemctl enable` would (the path unit is WantedBy=paths.target); vmbackup.service is not.
    assert.equal(await readlink(join(root, 'etc/systemd/system/paths.target.wants/vmbackup-schedule.path')), '/etc/systemd/system/vmbackup-schedule.path');
    assert.ok(!existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/vmbackup.service')));
    assert.equal(await mode(join(root, 'etc/vmbackup/vmbackup.env')), '640');
    assert.equal((await stat(join(root, 'etc/vmbackup/vmbackup.env'))).gid, gid);
    if (/^bacula:/m.test(passwd)) assert.match(await readFile(join(root, 'etc/group'), 'utf8'), /^vmbackup:[^:]*:\d+:(.*,)?bacula(,|$)/m);
    assert.match(first.out, /check: backup storage \/nonexistent-storage does not exist/);

    const snapshot = await tree(root);
    const second = install(['--root', root, '--storage', '/nonexistent-storage']);
    assert.equal(second.status, 0, second.out);
    assert.match(second.out, /nothing to change/);
    assert.doesNotMatch(second.out, /^do:/m);
    assert.deepEqual(await tree(root), snapshot);
  });

  test('without a bacula group the SupplementaryGroups drop-in is written; a local env file is never replaced', { skip: !isRoot && 'needs root' }, async () => {
    const root = await scratch(false); roots.push(root);
    const group = join(root, 'etc/group');
    await writeFile(group, (await readFile(group, 'utf8')).split('\n').filter((l) => !l.startsWith('bacula:')).join('\n'));
    await mkdir(join(root, 'etc/vmbackup'), { recursive: true });
    await writeFile(join(root, 'etc/vmbackup/vmbackup.env'), 'VMBACKUP_REPO=/srv/policy\n');
    const r = install(['--root', root]);
    assert.equal(r.status, 0, r.out);
    assert.equal(await readFile(join(root, 'etc/systemd/system/vmbackup.service.d/10-no-bacula-group.conf'), 'utf8'), '[Service]\nSupplementaryGroups=\n');
    assert.equal(await readFile(join(root, 'etc/vmbackup/vmbackup.env'), 'utf8'), 'VMBACKUP_REPO=/srv/policy\n');
    assert.match(r.out, /no \/etc\/bacula/);
  });
});
