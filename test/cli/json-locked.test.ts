// Issue 10 "With --json, a failure prints a JSON error object on stdout", for a held lock: `backup
// <vm> --json` while another live process holds the VM's lock prints {error:{code:"LOCKED",message}}
// on stdout (prose on stderr) and exits 75 (docs/errors.md). No lab: a scratch repo and state dir, the
// lock held by this test process (alive, this host), taken before anything touches a hypervisor.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { vmbackup } from '../helpers/cli.js';
import { EXIT } from '../../src/app/exit-codes.js';

describe('--json on a held lock', () => {
  let root = '';
  after(async () => { if (root) await rm(root, { recursive: true, force: true }); });

  test('backup <vm> --json: {error:{code:"LOCKED",message}} on stdout, exit 75, the lock left alone', async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-json-locked-'));
    const repo = join(root, 'repo');
    const storage = join(root, 'storage');
    const state = join(root, 'state');
    await mkdir(repo, { recursive: true });
    await mkdir(join(state, 'locks'), { recursive: true });
    await writeFile(join(repo, 'fleet.yaml'), stringify({
      settings: { storage_root: storage, scheduler: 'cron', time_zone: 'UTC' },
      hypervisors: [{ name: 'hv1', address: '127.0.0.1', transport: 'local' }],
      vms: [{ name: 'vm1', hypervisor: 'hv1', schedule: 'weekly', retention: { keep_last: 3 } }],
    }));
    const holder = JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-12-03T10:00:00.000Z', what: 'backup of vm1' });
    const lockFile = join(state, 'locks', 'vm1.lock');
    await writeFile(lockFile, holder);

    const r = await vmbackup(['backup', 'vm1', '--json', '--repo', repo, '--state-dir', state], { env: { VMBACKUP_STATE_DIR: state } });
    assert.equal(r.code, EXIT.BUSY, r.stdout + r.stderr);
    assert.equal(EXIT.BUSY, 75);
    const out = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.deepEqual(Object.keys(out), ['error']);
    assert.equal(out.error.code, 'LOCKED');
    assert.match(out.error.message, new RegExp(`vm1 is busy: backup of vm1 has been running since 2026-12-03T10:00:00.000Z \\(pid ${process.pid} on `));
    assert.match(r.stderr, /vm1 is busy/);
    assert.equal(await readFile(lockFile, 'utf8'), holder, 'the holder keeps its lock');
  });
});
