// test-restore proves a boot, on the lab's real libvirt: the agent VM passes with the agent probe
// and with the console probe (its serial `lab-agent login:` prompt), the OS-less VM fails with
// either, a console screenshot PNG is saved beside the backup and referenced from
// test-restore.json, and the probes' own bounds hold (a closed TCP port, a backtracking pattern).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { createServer } from 'node:net';
import { vmbackup } from '../helpers/cli.js';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { writeLabRepo } from '../lab/policy-repo.js';
import type { Lab } from '../lab/lab.js';
import { LocalTransport } from '../../src/adapters/transport/local.js';
import { PNG_SIGNATURE, pngSize } from '../../src/adapters/libvirt/screenshot-png.js';
import { matchWithTimeout } from '../../src/engine/probes/regex-match.js';
import { tcpAttempt, waitForEvidence } from '../../src/engine/probes/run-probe.js';
import type { TestRestoreEvidence } from '../../src/engine/test-restore.js';

const ID_RE = /\((\d{4}-\d{2}-\d{2}-\d{6})\)/;

describe('probe bounds (no lab)', () => {
  test('a tcp probe on a port nothing listens on fails within its timeout', async () => {
    // A port that was free a moment ago: bind, read the number, close.
    const port = await new Promise<number>((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
    const t = new LocalTransport('local');
    const t0 = Date.now();
    const deadline = t0 + 3000;
    const r = await waitForEvidence('tcp', () => tcpAttempt(t, ['127.0.0.1'], port, deadline), { deadline, pollMs: 500 });
    const took = Date.now() - t0;
    assert.equal(r.ok, false);
    assert.match(r.detail, new RegExp(`tcp probe: no evidence within 3s: 127\\.0\\.0\\.1:${port}: ConnectionRefusedError`));
    assert.ok(took >= 2900 && took < 6000, `took ${took} ms`);
  });
  test('a tcp probe on a listening port passes', async () => {
    const s = createServer((c) => c.end());
    const port = await new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)));
    try {
      const r = await tcpAttempt(new LocalTransport('local'), ['127.0.0.1'], port, Date.now() + 5000);
      assert.deepEqual(r, { ok: true, detail: `127.0.0.1:${port} accepted a connection` });
    } finally { s.close(); }
  });
  test('a backtracking pattern is stopped at the time limit, a plain one matches', async () => {
    const t0 = Date.now();
    assert.deepEqual(await matchWithTimeout('(a+)+$', `${'a'.repeat(40)}!`, 500), { timedOut: true });
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    assert.deepEqual(await matchWithTimeout('login:|# $', 'boot\nlab-agent login: '), { matched: true, index: 15, match: 'login:' });
    assert.deepEqual(await matchWithTimeout('login:', 'SeaBIOS\nNo bootable device.'), { matched: false });
  });
});

describe('test-restore probes on the lab (lab-agent, lab-noos)', { timeout: 600_000 }, () => {
  let env: LabEnv | undefined;
  let lab: Lab | undefined;
  const ids: Record<string, string> = {};
  const cli = (...args: string[]) => vmbackup([...args, '--repo', env!.repo, '--state-dir', env!.stateDir, '--json']);
  /** Rewrites the scratch repo (same isolated storage) with per-VM overrides. */
  const overrides = (vmOverrides: Record<string, Record<string, unknown>>) => writeLabRepo(env!.repo, lab!, {
    controlDir: join(env!.root, 'ssh'), storageRoot: env!.storageDir, remoteStorageRoot: join(lab!.storage.remoteDir, 'envs', basename(env!.root)), vmOverrides,
  });
  const testRestore = async (vm: string, bootTimeout: number): Promise<{ code: number; ev: TestRestoreEvidence; out: string }> => {
    const r = await cli('test-restore', vm, '--backup', ids[vm]!, '--boot-timeout', String(bootTimeout));
    const ev = (JSON.parse(r.stdout) as { evidence: TestRestoreEvidence }).evidence;
    return { code: r.code, ev, out: r.stdout + r.stderr };
  };
  const dirOf = (vm: string) => join(env!.storageDir, 'local', vm, ids[vm]!);
  async function assertCleanedUp(ev: TestRestoreEvidence): Promise<void> {
    const list = (await execa('virsh', ['-q', 'list', '--all', '--name'])).stdout;
    assert.ok(!list.split('\n').includes(ev.test_name), `${ev.test_name} still defined`);
    const imgs = await readdir(lab!.hosts.find((h) => h.name === 'local')!.imagesDir);
    assert.deepEqual(imgs.filter((n) => n.startsWith(ev.test_name)), [], 'disks and console log removed');
  }
  async function assertScreenshot(vm: string, ev: TestRestoreEvidence): Promise<void> {
    assert.ok(ev.screenshot && !('error' in ev.screenshot), JSON.stringify(ev.screenshot));
    assert.equal(ev.screenshot.file, 'test-restore.png');
    assert.equal(ev.screenshot.path, join(dirOf(vm), 'test-restore.png'));
    const png = await readFile(join(dirOf(vm), 'test-restore.png'));
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature');
    const size = pngSize(png)!;
    assert.deepEqual(size, { width: ev.screenshot.width, height: ev.screenshot.height });
    assert.ok(size.width >= 320 && size.height >= 200, JSON.stringify(size));
    const saved = JSON.parse(await readFile(join(dirOf(vm), 'test-restore.json'), 'utf8')) as TestRestoreEvidence;
    assert.deepEqual(saved.screenshot, ev.screenshot, 'referenced from test-restore.json');
  }

  before(async () => {
    const l = (await import('../lab/lab.js')).loadLab();
    if (!l) return;
    lab = l;
    env = await labEnv(l, { isolate: true });
    for (const vm of ['lab-agent', 'lab-noos']) {
      const r = await vmbackup(['backup', vm, '--repo', env.repo, '--state-dir', env.stateDir]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      ids[vm] = ID_RE.exec(r.stdout)![1]!;
    }
  });
  after(async () => env?.cleanup());

  test('lab-agent, default probe (agent channel → agent): guest-ping and guest-info answer; screenshot PNG saved', async (t) => {
    if (!labOrSkip(t)) return;
    await overrides({});
    const { code, ev, out } = await testRestore('lab-agent', 90);
    assert.equal(code, 0, out);
    assert.equal(ev.result, 'ok');
    assert.deepEqual(ev.checks.map((c) => [c.name, c.ok]), [['restore', true], ['evidence-devices', true], ['start', true], ['running', true], ['probe', true]]);
    assert.deepEqual([ev.probe?.kind, ev.probe?.source, ev.probe?.ok], ['agent', 'default', true]);
    assert.match(ev.probe!.detail, /guest-ping and guest-info \(qemu-ga \d/);
    await assertScreenshot('lab-agent', ev);
    assert.equal(ev.console?.file, 'test-restore-console.txt');
    assert.match(await readFile(join(dirOf('lab-agent'), 'test-restore-console.txt'), 'utf8'), /lab-agent login: /);
    await assertCleanedUp(ev);
  });

  test('lab-agent, console probe `login:`: the serial prompt is seen', async (t) => {
    if (!labOrSkip(t)) return;
    await overrides({ 'lab-agent': { test_restore: { probe: { console: 'login:' } } } });
    const { code, ev, out } = await testRestore('lab-agent', 90);
    assert.equal(code, 0, out);
    assert.deepEqual([ev.probe?.kind, ev.probe?.pattern, ev.probe?.source, ev.probe?.ok], ['console', 'login:', 'policy', true]);
    assert.match(ev.probe!.detail, /console matched \/login:\/: "lab-agent login:"/);
    await assertScreenshot('lab-agent', ev);
    await assertCleanedUp(ev);
  });

  test('lab-noos (no OS), default probe (its dead agent channel → agent): FAILS, with a screenshot', async (t) => {
    if (!labOrSkip(t)) return;
    await overrides({});
    const t0 = Date.now();
    const { code, ev, out } = await testRestore('lab-noos', 12);
    assert.equal(code, 1, out);
    assert.equal(ev.result, 'failed');
    assert.deepEqual([ev.probe?.kind, ev.probe?.ok], ['agent', false]);
    assert.match(ev.probe!.detail, /agent probe: no evidence within \d+s/);
    assert.ok(Date.now() - t0 < 60_000, 'bounded by the boot timeout');
    await assertScreenshot('lab-noos', ev);
    await assertCleanedUp(ev);
  });

  test('lab-noos, console probe `login:`: FAILS (nothing like a prompt on its console)', async (t) => {
    if (!labOrSkip(t)) return;
    await overrides({ 'lab-noos': { test_restore: { probe: { console: 'login:' } } } });
    const { code, ev, out } = await testRestore('lab-noos', 10);
    assert.equal(code, 1, out);
    assert.deepEqual([ev.probe?.kind, ev.probe?.ok], ['console', false]);
    assert.match(ev.probe!.detail, /console probe: no evidence within \d+s: (nothing on the serial console|\/login:\/ not on the serial console)/);
    await assertCleanedUp(ev);
  });

  test('lab-agent, tcp probe: refused (the VM has no NIC), nothing left behind', async (t) => {
    if (!labOrSkip(t)) return;
    await overrides({ 'lab-agent': { test_restore: { network: 'isolated', probe: { tcp: 22 } } } });
    const { code, ev, out } = await testRestore('lab-agent', 30);
    assert.equal(code, 1, out);
    assert.deepEqual([ev.probe?.kind, ev.probe?.port, ev.probe?.ok], ['tcp', 22, false]);
    assert.match(ev.probe!.detail, /no network interface/);
    assert.equal(ev.screenshot, undefined, 'never started');
    await assertCleanedUp(ev);
  });
});
