import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSdNotifier, watchdogInterval } from '../../src/adapters/http/sd-notify.js';

const which = (cmd: string): string | undefined => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

/** A fake systemd-notify first on the path (execa's habit): records its argv, one line per call. */
async function fakeNotify(dir: string, exitCode = 0): Promise<{ command: string; calls: () => Promise<string[][]> }> {
  const log = join(dir, 'calls.log');
  const command = join(dir, 'systemd-notify');
  await writeFile(command, `#!/bin/sh\nprintf '%s\\t' "$NOTIFY_SOCKET" "$@" >> '${log}'\nprintf '\\n' >> '${log}'\nexit ${exitCode}\n`);
  await chmod(command, 0o755);
  const calls = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => l.split('\t').slice(0, -1));
  return { command, calls };
}

describe('sd_notify through systemd-notify', () => {
  test('watchdog interval is WATCHDOG_USEC/2, only for our pid', () => {
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '60000000' }, 42), 30_000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '60000000', WATCHDOG_PID: '42' }, 42), 30_000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '60000000', WATCHDOG_PID: '7' }, 42), undefined);
    assert.equal(watchdogInterval({}, 42), undefined);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: 'x' }, 42), undefined);
  });

  test('outside systemd (no NOTIFY_SOCKET) nothing is spawned', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-sdn-'));
    try {
      const fake = await fakeNotify(dir);
      const n = createSdNotifier({ env: { WATCHDOG_USEC: '1000' }, command: fake.command });
      assert.equal(n.enabled, false);
      assert.equal(n.watchdogIntervalMs, undefined);
      assert.equal(await n.ready(), false);
      assert.deepEqual(await fake.calls(), []);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  test('messages go out in order with NOTIFY_SOCKET passed on; failures are reported, not thrown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-sdn-'));
    try {
      const fake = await fakeNotify(dir);
      const n = createSdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify', PATH: process.env.PATH }, command: fake.command });
      await Promise.all([n.status('loading\nrepo'), n.ready('serving'), n.extendTimeout(90_000), n.watchdog(), n.stopping()]);
      const calls = await fake.calls();
      assert.deepEqual(calls, [
        ['/run/systemd/notify', 'STATUS=loading repo'],
        ['/run/systemd/notify', 'READY=1', 'STATUS=serving'],
        ['/run/systemd/notify', 'EXTEND_TIMEOUT_USEC=90000000'],
        ['/run/systemd/notify', 'WATCHDOG=1'],
        ['/run/systemd/notify', 'STOPPING=1'],
      ]);
      assert.ok(!calls.flat().includes('--no-block'), 'never --no-block: the barrier closes the attribution race');
      const r = await n.reloading();
      assert.equal(r, true);
      assert.match((await fake.calls()).at(-1)!.join(' '), /RELOADING=1 MONOTONIC_USEC=\d+/);
      const failing = await fakeNotify(await mkdtemp(join(dir, 'f-')), 1);
      const errors: string[][] = [];
      const bad = createSdNotifier({ env: { NOTIFY_SOCKET: '/x' }, command: failing.command, onError: (_e, m) => errors.push(m) });
      assert.equal(await bad.ready(), false);
      assert.deepEqual(errors, [['READY=1']]);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  test('startWatchdog pings every WATCHDOG_USEC/2 while healthy, and stops', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-sdn-'));
    try {
      const fake = await fakeNotify(dir);
      let healthy = true;
      const n = createSdNotifier({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '100000', PATH: process.env.PATH }, command: fake.command });
      assert.equal(n.watchdogIntervalMs, 50);
      const stop = n.startWatchdog(() => healthy);
      await sleep(280);
      healthy = false;
      await sleep(150);
      const pings = (await fake.calls()).length;
      assert.ok(pings >= 3 && pings <= 6, `about 5 pings in 280 ms, got ${pings}`);
      stop();
      await sleep(120);
      assert.equal((await fake.calls()).length, pings, 'no pings while unhealthy or after stop');
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  test('the real systemd-notify delivers READY=1 to a real AF_UNIX datagram socket and returns after the barrier', async (t) => {
    const bin = which('systemd-notify');
    const perl = which('perl'); // perl-base is Essential on Debian: always there
    if (!bin || !perl) {
      if (process.env.CI === 'true') assert.fail(`missing ${bin ? 'perl' : 'systemd-notify'} (bash test/setup.sh installs the systemd package)`);
      t.skip('systemd-notify not installed');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'vmb-sdn-'));
    const sock = join(dir, 'notify');
    // Plays PID 1: binds the notify socket and prints each datagram. recv() passes no control
    // buffer, so the kernel closes the barrier fd systemd-notify sends, which lets it return.
    const receiver = spawn(perl, ['-MSocket', '-e', `
      socket(my $s, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
      bind($s, pack_sockaddr_un($ARGV[0])) or die "bind: $!";
      $| = 1; print "bound\\n";
      while (defined(recv($s, my $m, 4096, 0))) { $m =~ s/\\n/|/g; print "<$m>\\n" }`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    receiver.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    try {
      for (let i = 0; i < 100 && !out.includes('bound'); i++) await sleep(20);
      const n = createSdNotifier({ env: { ...process.env, NOTIFY_SOCKET: sock } });
      const t0 = Date.now();
      assert.equal(await n.ready('vmbackup ready'), true);
      assert.ok(Date.now() - t0 < 4000, 'returned promptly: the barrier was released');
      assert.equal(await n.watchdog(), true);
      for (let i = 0; i < 50 && !out.includes('WATCHDOG=1'); i++) await sleep(20);
      assert.match(out, /<READY=1\|STATUS=vmbackup ready>/);
      assert.match(out, /<WATCHDOG=1>/);
      assert.match(out, /<BARRIER=1>/, 'systemd-notify synchronised with the receiver');
    } finally {
      receiver.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
