// The transports against real programs: argv crosses a real sshd byte for byte, hostile strings
// included, and an unreachable host is reported as such.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTransport } from '../../src/adapters/transport/local.js';
import { SshTransport } from '../../src/adapters/transport/ssh.js';
import { CommandError, UnreachableError } from '../../src/adapters/transport/transport.js';
import { labOrSkip } from '../helpers/lab.js';

const HOSTILE = ['plain', 'two words', "it's", '"dq"', '$(id)', '`id`', '; rm -rf /', 'a|b', '*', '~root', '$HOME', 'new\nline', '--option', '', 'ünïcödé', '\\back\\slash'];

describe('transports', () => {
  test('local: argv arrives intact, failures carry exit code and stderr', async () => {
    const t = new LocalTransport('here');
    const r = await t.run(['printf', '%s\\0', ...HOSTILE]);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), HOSTILE);
    await assert.rejects(t.run(['sh', '-c', 'echo boom >&2; exit 3']), (e: unknown) => e instanceof CommandError && e.result.exitCode === 3 && /boom/.test(e.message));
    await assert.rejects(t.run(['sleep', '5'], { timeoutMs: 200 }), (e: unknown) => e instanceof CommandError && e.timedOut);
  });

  test('ssh: argv arrives intact through the remote shell, one shared connection', async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const dir = await mkdtemp(join(tmpdir(), 'vmb-ssh-'));
    try {
      const hv = lab.hosts.find((h) => h.name === 'hv1')!;
      const ssh = new SshTransport({ host: 'hv1', address: hv.address, user: 'root', port: hv.sshPort, identity: lab.ssh.key }, { knownHosts: lab.ssh.knownHosts, controlDir: dir });
      const r = await ssh.run(['printf', '%s\\0', ...HOSTILE]);
      assert.deepEqual(r.stdout.split('\0').slice(0, -1), HOSTILE);
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) await ssh.run(['true']);
      const per = (performance.now() - t0) / 5;
      assert.ok(per < 250, `multiplexed commands should not pay a new handshake each (${per.toFixed(0)} ms each)`);
      await assert.rejects(ssh.run(['sh', '-c', 'exit 7']), (e: unknown) => e instanceof CommandError && e.result.exitCode === 7);
      await ssh.close();
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  test('ssh: strict host key checking refuses an unknown host key', async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const dir = await mkdtemp(join(tmpdir(), 'vmb-ssh-'));
    try {
      const hv = lab.hosts.find((h) => h.name === 'hv2')!;
      const ssh = new SshTransport({ host: 'hv2', address: hv.address, user: 'root', port: hv.sshPort, identity: lab.ssh.key }, { knownHosts: join(dir, 'empty_known_hosts'), controlDir: dir });
      await assert.rejects(ssh.run(['true']), (e: unknown) => e instanceof UnreachableError && /Host key verification failed/i.test(e.message));
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  test('ssh: an unreachable host fails fast with UnreachableError', async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const dir = await mkdtemp(join(tmpdir(), 'vmb-ssh-'));
    try {
      const ssh = new SshTransport({ host: 'ghost', address: '127.0.0.1', user: 'root', port: 1, identity: lab.ssh.key }, { knownHosts: lab.ssh.knownHosts, controlDir: dir, connectTimeoutSec: 3 });
      const t0 = performance.now();
      await assert.rejects(ssh.run(['true']), (e: unknown) => e instanceof UnreachableError && /unreachable/.test(e.message));
      assert.ok(performance.now() - t0 < 10_000);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });
});
