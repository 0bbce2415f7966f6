// Pauses reach a `runs_on: hypervisor` host with every publish: <state_dir>/pauses.json there holds
// the pauses in force for that host's VMs only, written atomically (a planted symlink is replaced,
// never followed), `{}` once resumed, and re-sent when only the pauses changed. Over real ssh to
// the lab's hv1 namespace hypervisor; the reading side (strict, never a crash) on local files.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile, readFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { publishPauses, readPublishedPauses, PAUSES_FILE } from '../../src/adapters/agent/publish-pauses.js';
import { publishStep } from '../../src/daemon/publish-step.js';
import { SshTransport } from '../../src/adapters/transport/ssh.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { clearPause, setPause } from '../../src/adapters/store/pauses.js';
import type { DesiredState } from '../../src/core/model.js';
import type { Hosts } from '../../src/engine/hosts.js';
import { makeRepo } from '../helpers/git-repo.js';
import { labOrSkip } from '../helpers/lab.js';
import { ROOT } from '../helpers/paths.js';

const hour = (n: number): string => new Date(Date.now() + n * 3_600_000).toISOString();

describe('pauses published to the hypervisor', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => { for (const c of cleanups.reverse()) await c(); });

  test('real ssh to hv1: content and mode, only this host\'s VMs, a resume empties it, a planted symlink is not followed, pauses go even when the revision is current', async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const hv = lab.hosts.find((h) => h.name === 'hv1')!;
    const ctl = await mkdtemp(join(tmpdir(), 'vmb-r4-ctl-'));
    cleanups.push(() => rm(ctl, { recursive: true, force: true }));
    const ssh = new SshTransport({ host: 'hv1', address: hv.address, user: 'root', port: hv.sshPort, identity: lab.ssh.key }, { knownHosts: lab.ssh.knownHosts, controlDir: ctl });
    cleanups.push(() => ssh.close());
    const hvState = `/var/tmp/vmb-r4-pauses-${process.pid}`;
    cleanups.push(() => ssh.run(['rm', '-rf', '--', hvState]));
    const remote = join(hvState, PAUSES_FILE);
    const cat = async (): Promise<unknown> => JSON.parse((await ssh.run(['cat', '--', remote])).stdout);

    // The control host: a repo to publish from and a state store with pauses.
    const repo = await makeRepo(join(ROOT, 'examples', 'fleet'));
    cleanups.push(repo.cleanup);
    const revision = (await repo.git('rev-parse', 'HEAD')).trim();
    const ctlState = await mkdtemp(join(tmpdir(), 'vmb-r4-state-'));
    cleanups.push(() => rm(ctlState, { recursive: true, force: true }));
    const store = await StateStore.open(ctlState);
    const now = new Date().toISOString();
    const dbUntil = hour(2);
    await setPause(store, { vm: 'db1', until: dbUntil, reason: 'disk swap', by: 'api:alice', at: now }, now);
    await setPause(store, { vm: 'elsewhere', until: hour(2), reason: 'other host', by: 'cli:bob', at: now }, now);
    await setPause(store, { vm: 'gone', until: hour(-1), reason: 'expired', by: 'cli:bob', at: now }, now);

    const desired = {
      hypervisors: [{ name: 'hv1', runsOn: 'hypervisor', stateDir: hvState }, { name: 'hv2', runsOn: 'control' }],
      vms: [{ name: 'db1', hypervisor: 'hv1' }, { name: 'gone', hypervisor: 'hv1' }, { name: 'web1', hypervisor: 'hv1' }, { name: 'elsewhere', hypervisor: 'hv2' }],
    } as unknown as DesiredState;
    const hosts = { get: () => ({ transport: ssh }) } as unknown as Hosts;
    const log = pino({ level: 'silent' });
    const step = (nowMs: number) => publishStep({ dir: repo.work, revision, desired, hosts, log, nowMs, store });

    const first = await step(Date.now());
    assert.deepEqual(first.map((r) => r.result), ['sent']);
    assert.deepEqual(await cat(), { db1: { vm: 'db1', until: dbUntil, reason: 'disk swap', by: 'api:alice' } });
    const mode = (await ssh.run(['stat', '-c', '%a %F %U', '--', remote])).stdout.trim();
    assert.equal(mode, '644 regular file root');

    // Resume: the revision is the same (within the recheck interval), the pauses are not: sent anyway.
    await clearPause(store, 'db1');
    const second = await step(Date.now() + 1000);
    assert.deepEqual(second.map((r) => r.result), ['sent']);
    assert.deepEqual(await cat(), {});
    // Nothing changed: nothing sent.
    assert.deepEqual((await step(Date.now() + 2000)).map((r) => r.result), ['current']);

    // A symlink planted at the path (pointing at a file outside the state dir) is replaced, never written through.
    const victim = `/var/tmp/vmb-r4-victim-${process.pid}`;
    cleanups.push(() => ssh.run(['rm', '-f', '--', victim]));
    await ssh.run(['sh', '-c', 'printf keep > "$1" && rm -f -- "$2" && ln -s -- "$1" "$2"', 'sh', victim, remote]);
    await publishPauses(ssh, hvState, { web1: { vm: 'web1', until: hour(1), reason: 'kernel update', by: 'api:carol' } });
    assert.equal((await ssh.run(['cat', '--', victim])).stdout, 'keep');
    assert.equal((await ssh.run(['stat', '-c', '%F', '--', remote])).stdout.trim(), 'regular file');
    assert.deepEqual(Object.keys(await cat() as object), ['web1']);
    // No temp files left behind.
    assert.equal((await ssh.run(['ls', '-A', '--', hvState])).stdout.split('\n').filter((n) => n.includes('pauses') && n !== PAUSES_FILE).length, 0);
  });

  test('reading on the hypervisor: missing is none; a symlink, an oversize or a malformed file is ignored with a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-r4-read-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, PAUSES_FILE);
    assert.deepEqual(await readPublishedPauses(dir), { pauses: {} });

    const good = { db1: { vm: 'db1', until: hour(1), reason: 'disk swap', by: 'api:alice' } };
    await writeFile(file, JSON.stringify(good));
    const r = await readPublishedPauses(dir);
    assert.equal(r.warning, undefined);
    assert.equal(r.pauses.db1?.until, good.db1.until);
    assert.equal(r.pauses.db1?.by, 'api:alice');

    const bad: [string, string | Buffer][] = [
      ['not json', '{'],
      ['an array', '[]'],
      ['a key that is not its vm', JSON.stringify({ db1: { ...good.db1, vm: 'db2' } })],
      ['a bad until', JSON.stringify({ db1: { ...good.db1, until: 'tomorrow' } })],
      ['an extra field', JSON.stringify({ db1: { ...good.db1, cmd: 'x' } })],
      ['a control character in the reason', JSON.stringify({ db1: { ...good.db1, reason: 'a\nb' } })],
      ['a bad VM name', JSON.stringify({ '../x': { ...good.db1, vm: '../x' } })],
      ['oversize', Buffer.alloc(2 * 1024 * 1024, 0x20)],
    ];
    for (const [what, content] of bad) {
      await writeFile(file, content);
      const x = await readPublishedPauses(dir);
      assert.deepEqual(x.pauses, {}, what);
      assert.match(x.warning ?? '', /pauses\.json/, what);
    }
    await rm(file);
    const target = join(dir, 'elsewhere.json');
    await writeFile(target, JSON.stringify(good));
    await symlink(target, file);
    const s = await readPublishedPauses(dir);
    assert.deepEqual(s.pauses, {});
    assert.match(s.warning ?? '', /regular file|symlink|symbolic/);
    assert.ok((await lstat(file)).isSymbolicLink());
    assert.equal(await readFile(target, 'utf8'), JSON.stringify(good));
  });
});
