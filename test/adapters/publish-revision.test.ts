// The applied revision reaches a `runs_on: hypervisor` host as git objects plus one ref, and
// vmbackup there acts on exactly that revision: over the local transport (a temp directory) and
// over real ssh to the lab's hv1 namespace hypervisor.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishRevision, publishedRevision, localPublishedRevision } from '../../src/adapters/git/publish-revision.js';
import { LocalTransport } from '../../src/adapters/transport/local.js';
import { SshTransport } from '../../src/adapters/transport/ssh.js';
import { StateStore } from '../../src/adapters/store/state-store.js';
import { actingPolicy } from '../../src/app/acting-policy.js';
import { commitAndPush, makeRepo } from '../helpers/git-repo.js';
import { labOrSkip } from '../helpers/lab.js';
import { ROOT } from '../helpers/paths.js';

const FLEET = join(ROOT, 'examples', 'fleet');

describe('publishRevision: the applied revision, and only it, reaches the hypervisor', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => { for (const c of cleanups) await c(); });

  test('local transport: sent once, then current; the hypervisor acts on the published revision, not on --repo', async () => {
    const repo = await makeRepo(FLEET);
    cleanups.push(repo.cleanup);
    const hvState = await mkdtemp(join(tmpdir(), 'vmb-hv-state-'));
    cleanups.push(() => rm(hvState, { recursive: true, force: true }));
    const t = new LocalTransport('hv-local');
    const r1 = (await repo.git('rev-parse', 'HEAD')).trim();
    assert.equal(await publishedRevision(t, hvState), undefined, 'nothing published yet');
    const a = await publishRevision(repo.work, r1, t, hvState);
    assert.equal(a.result, 'sent');
    assert.ok(a.bytes > 0);
    assert.deepEqual(await publishRevision(repo.work, r1, t, hvState), { result: 'current', bytes: 0 });
    // A later commit (say, one the daemon refused) exists in the control host's repo but was never published.
    const r2 = await commitAndPush(repo, 'a change not published', { 'NOTES.md': 'unpublished\n' });
    assert.notEqual(r2, r1);
    assert.equal(await localPublishedRevision(hvState), r1);
    const store = await StateStore.open(hvState);
    const p = await actingPolicy({ repo: repo.work, stateDir: hvState, store });
    assert.equal(p.source, 'published');
    assert.equal(p.snapshot.revision, r1);
    assert.match(p.note ?? '', /--repo .* ignored/);
    // Publishing the next applied revision moves the ref; only the missing objects need to go.
    const b = await publishRevision(repo.work, r2, t, hvState);
    assert.equal(b.result, 'sent');
    assert.equal(await localPublishedRevision(hvState), r2);
  });

  test('refuses anything but a full commit id', async () => {
    const t = new LocalTransport('hv-local');
    await assert.rejects(publishRevision('/nonexistent', 'HEAD', t, '/nonexistent'), /not a full commit id/);
    await assert.rejects(publishRevision('/nonexistent', '--upload-pack=touch /tmp/x', t, '/nonexistent'), /not a full commit id/);
  });

  test('real ssh to hv1: the objects cross, the ref moves, a second publish sends nothing', async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const hv = lab.hosts.find((h) => h.name === 'hv1')!;
    const repo = await makeRepo(FLEET);
    cleanups.push(repo.cleanup);
    const ctl = await mkdtemp(join(tmpdir(), 'vmb-ssh-ctl-'));
    cleanups.push(() => rm(ctl, { recursive: true, force: true }));
    const ssh = new SshTransport({ host: 'hv1', address: hv.address, user: 'root', port: hv.sshPort, identity: lab.ssh.key }, { knownHosts: lab.ssh.knownHosts, controlDir: ctl });
    cleanups.push(() => ssh.close());
    // A state directory of the hypervisor's own (/tmp is shared with the namespace hosts: a fresh name).
    const hvState = `/var/tmp/vmb-publish-${process.pid}`;
    cleanups.push(() => rm(hvState, { recursive: true, force: true }));
    const r1 = (await repo.git('rev-parse', 'HEAD')).trim();
    assert.equal((await publishRevision(repo.work, r1, ssh, hvState)).result, 'sent');
    assert.equal(await publishedRevision(ssh, hvState), r1);
    assert.equal((await publishRevision(repo.work, r1, ssh, hvState)).result, 'current');
  });
});
