// The ssh ControlPath directory must be ours, 0700 and not a symlink, or ssh is not started at
// all: a fake `ssh` first on PATH records every start, to prove none happened.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshTransport } from '../../src/adapters/transport/ssh.js';
import { ControlDirError } from '../../src/adapters/transport/control-dir.js';
import { UnreachableError } from '../../src/adapters/transport/transport.js';

const NOBODY = 65534;

describe('ssh ControlPath directory', () => {
  let root = '';
  let calls = '';
  let savedPath: string | undefined;
  const started = async (): Promise<number> => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  const ssh = (controlDir: string) => new SshTransport({ host: 'hv1', address: '192.0.2.1', user: 'root', port: 22 }, { controlDir });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-ctl-'));
    const bin = join(root, 'bin');
    await mkdir(bin);
    calls = join(root, 'ssh-calls');
    // Records its argv and succeeds, printing nothing.
    await writeFile(join(bin, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\nexit 0\n`, { mode: 0o755 });
    savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
  });
  after(async () => { process.env.PATH = savedPath; await rm(root, { recursive: true, force: true }); });

  async function refused(dir: string, why: RegExp): Promise<void> {
    const before = await started();
    await assert.rejects(ssh(dir).run(['true']), (e: unknown) => {
      assert.ok(e instanceof ControlDirError, String(e));
      assert.ok(e instanceof UnreachableError, 'the host is reported unreachable (its VMs Unknown), not a crash');
      assert.equal(e.code, 'SSH_CONTROL_DIR_UNSAFE');
      assert.ok(e.message.includes(dir), 'the message names the directory');
      assert.match(e.message, why);
      return true;
    });
    await ssh(dir).close();
    assert.equal(await started(), before, 'ssh was not started (neither run nor close)');
  }

  test('a missing directory is created 0700 (under umask 000) and ssh runs', async () => {
    const dir = join(root, 'new', 'ctl');
    const old = process.umask(0);
    try { await ssh(dir).run(['true']); } finally { process.umask(old); }
    const st = await stat(dir);
    assert.equal(st.mode & 0o777, 0o700);
    assert.equal(st.uid, process.getuid!());
    assert.equal(await started(), 1);
    assert.match(await readFile(calls, 'utf8'), new RegExp(`ControlPath=${dir}/[0-9a-f]{16}`));
  });

  test('mode 0755: refused, ssh not started', async () => {
    const dir = join(root, 'open');
    await mkdir(dir, { mode: 0o700 });
    await chmod(dir, 0o755);
    await refused(dir, /mode 0755/);
  });

  test('mode 0710 (group bit only): refused', async () => {
    const dir = join(root, 'group');
    await mkdir(dir);
    await chmod(dir, 0o710);
    await refused(dir, /mode 0710/);
  });

  test("owned by another user (nobody), even 0700: refused", async (t) => {
    if (process.getuid!() !== 0 && process.env.CI !== 'true') { t.skip('needs root to chown'); return; }
    const dir = join(root, 'theirs');
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, NOBODY, NOBODY);
    await refused(dir, /owned by uid 65534/);
  });

  test('a symlink to a private directory of ours: refused (never followed)', async () => {
    const real = join(root, 'real');
    await mkdir(real, { mode: 0o700 });
    const link = join(root, 'link');
    await symlink(real, link);
    await refused(link, /symbolic link/);
  });

  test('a regular file where the directory should be: refused', async () => {
    const f = join(root, 'file');
    await writeFile(f, '');
    await refused(f, /not a directory/);
  });

  test('a directory made unsafe after the first command: the next command is refused', async () => {
    const dir = join(root, 'later');
    const t = ssh(dir);
    const before = await started();
    await t.run(['true']);
    assert.equal(await started(), before + 1);
    await chmod(dir, 0o777);
    await assert.rejects(t.run(['true']), ControlDirError);
    assert.equal(await started(), before + 1);
  });
});
