// The console API on the lab, against the real daemon: an operator's ad-hoc backup of a scratch
// VM really runs (SSE phases in order to `done`), is verified through the API, an admin runs the
// VM's retention (keep_last 1: the older point goes, with its reason; the newest verified one
// stays) and restores the newest as a new VM with no network; every act is in the audit trail.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { execa } from 'execa';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';
import { cloneNoos } from '../helpers/faults.js';
import { removeCopy, domstate } from '../helpers/net.js';
import { labPolicy } from '../lab/policy-repo.js';
import type { Lab } from '../lab/lab.js';
import { mintToken } from '../../src/adapters/console/auth.js';
import { tokenLine } from '../../src/core/console/tokens.js';
import { BackupStore } from '../../src/adapters/storage/backup-store.js';

const ORDER = ['queued', 'lock', 'pre-checks', 'snapshot', 'copying', 'commit', 'verify', 'publish', 'done'];

describe('console API on the lab (scratch VM)', { timeout: 600_000 }, () => {
  let lab: Lab | undefined;
  let env: LabEnv | undefined;
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;
  let clone: Awaited<ReturnType<typeof cloneNoos>> | undefined;
  const copy = `h2api-copy-${process.pid}`;
  let newest = '';
  const op = mintToken();
  const admin = mintToken();

  const call = async (token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const r = await fetch(`${d!.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, json: JSON.parse(await r.text()) };
  };
  const finished = (token: string, id: string) => waitFor(`action ${id} finished`, async () => {
    const a = (await call(token, 'GET', `/api/v1/actions/${id}`)).json;
    return ['ok', 'failed', 'cancelled'].includes(a.state) ? a : undefined;
  }, 300_000, 250).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-4000)}`); });

  async function events(token: string, until: (evs: any[]) => boolean): Promise<any[]> {
    const ac = new AbortController();
    const r = await fetch(`${d!.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
    const out: any[] = [];
    let buf = '';
    const timer = setTimeout(() => ac.abort(), 300_000);
    try {
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buf += Buffer.from(chunk).toString();
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const data = buf.slice(0, i).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('');
          buf = buf.slice(i + 2);
          if (data) out.push(JSON.parse(data));
        }
        if (until(out)) break;
      }
    } catch (e) { if ((e as Error).name !== 'AbortError') throw e; } finally { clearTimeout(timer); ac.abort(); }
    return out;
  }

  before(async () => {
    lab = (await import('../lab/lab.js')).loadLab();
    if (!lab) return;
    env = await labEnv(lab, { isolate: true });
    clone = await cloneNoos(lab, 'h2api');
    const policy = labPolicy(lab, { controlDir: join(env.root, 'ssh'), storageRoot: env.storageDir, remoteStorageRoot: join(lab.storage.remoteDir, env.storageDir.slice(lab.storage.dir.length + 1)) });
    policy.vms = [clone.policy({ schedule: 'weekly', retention: { keep_last: 1 } })]; // the daemon polls hourly: the older point waits for the admin's prune
    const src = join(env.root, 'seed');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'lab.yaml'), stringify(policy));
    repo = await makeRepo(src);
    const tokens = join(env.root, 'tokens');
    await writeFile(tokens, `${tokenLine('ops', 'operator', op.digest)}\n${tokenLine('root', 'admin', admin.digest)}\n`, { mode: 0o600 });
    d = await startDaemon(repo.bare, env.stateDir, ['--api-tokens', tokens]);
  });
  after(async () => {
    await d?.stop().catch(() => undefined);
    if (lab) await removeCopy(lab, copy).catch(() => undefined);
    await clone?.cleanup().catch(() => undefined);
    await repo?.cleanup();
    await env?.cleanup();
  });

  test('an ad-hoc backup runs on the lab; SSE shows its phases in order to done; verify, prune, restore as new follow', async (t) => {
    if (!labOrSkip(t)) return;
    const vm = clone!.name;
    // The first reconcile backs the new VM up (it has none): wait for it, so the ad-hoc one is the second point.
    await waitFor('first backup', async () => { const r = await call(op.token, 'GET', `/api/v1/vms/${vm}`); return r.status === 200 && r.json.status.restore_points.length === 1; }, 300_000, 500)
      .catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-4000)}`); });
    let id = '';
    const watching = events(op.token, (evs) => evs.some((e) => e.id === id && ['ok', 'failed'].includes(e.state)));
    await new Promise((r) => setTimeout(r, 200)); // the stream is open before the act
    const a = await call(op.token, 'POST', `/api/v1/vms/${vm}/backup`, {});
    assert.equal(a.status, 202, JSON.stringify(a.json));
    id = a.json.id;
    const done = await finished(op.token, id);
    assert.equal(done.state, 'ok', `${done.detail}\n${d!.logs().slice(-3000)}`);
    assert.equal(done.phase, 'done');
    assert.ok(done.backupId && done.runId);
    newest = done.backupId;
    const phases = (await watching).filter((e) => e.id === id).map((e) => e.phase);
    const seen = [...new Set(phases)];
    for (const p of ['lock', 'pre-checks', 'snapshot', 'copying', 'commit', 'publish', 'done']) assert.ok(seen.includes(p), `phase ${p} missing from ${phases.join(' → ')}`);
    const idx = seen.map((p) => ORDER.indexOf(p));
    assert.deepEqual(idx, [...idx].sort((x, y) => x - y), `phases in order: ${seen.join(' → ')}`);
    const run = (await call(op.token, 'GET', `/api/v1/runs/${encodeURIComponent(done.runId)}`)).json;
    assert.equal(run.status, 'ok');
    assert.ok(run.steps.some((s: any) => s.name === 'snapshot'));

    // Verify through the API (operator).
    const v = await call(op.token, 'POST', `/api/v1/vms/${vm}/verify`, { backupId: done.backupId });
    assert.equal(v.status, 202);
    assert.equal((await finished(op.token, v.json.id)).state, 'ok');

    // Prune (admin) is the VM's retention now (keep_last 1): the older point goes with its reason,
    // the newest verified one stays; a point cannot be named.
    const ids = async () => (await new BackupStore(env!.storageDir).list(clone!.host, vm)).map((p) => p.id).sort(); // storage itself (the status waits for the next reconcile)
    const older = (await ids()).filter((x) => x !== done.backupId)[0]!;
    assert.ok(older);
    assert.equal((await call(op.token, 'POST', `/api/v1/vms/${vm}/prune`, {})).status, 403, 'prune needs admin');
    assert.equal((await call(admin.token, 'POST', `/api/v1/vms/${vm}/prune`, { backupId: older })).status, 400, 'no point is named');
    const dry = await call(admin.token, 'POST', `/api/v1/vms/${vm}/prune`, { dry_run: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.json));
    assert.deepEqual(dry.json.prune, [{ id: older, reasons: ['no keep rule matched'] }]);
    assert.equal(dry.json.detail, `would prune 1 of 2: ${older} (no keep rule matched)`);
    assert.equal((await ids()).length, 2, 'a dry run deletes nothing');
    const pr = await call(admin.token, 'POST', `/api/v1/vms/${vm}/prune`, {});
    assert.equal(pr.status, 202, JSON.stringify(pr.json));
    const prDone = await finished(admin.token, pr.json.id);
    assert.equal(prDone.state, 'ok', prDone.detail);
    assert.match(prDone.detail, new RegExp(`^pruned 1 of 2: ${older} \\(no keep rule matched\\)$`));
    assert.deepEqual(await ids(), [done.backupId]);
    const again = await finished(admin.token, (await call(admin.token, 'POST', `/api/v1/vms/${vm}/prune`, {})).json.id);
    assert.equal(again.state, 'ok');
    assert.match(again.detail, /^nothing to prune \(1 restore point, all kept by retention\)$/, 'never the last verified point');

    // Restore as a new VM with no network (admin): the same engine path as `vmbackup restore --as`.
    const rs = await call(admin.token, 'POST', `/api/v1/vms/${vm}/restore`, { backupId: done.backupId, mode: 'new', name: copy, network: 'none' });
    assert.equal(rs.status, 202, JSON.stringify(rs.json));
    const rsDone = await finished(admin.token, rs.json.id);
    assert.equal(rsDone.state, 'ok', rsDone.detail);
    assert.match(await domstate(copy), /shut off|running/, 'the copy is defined');

    const audit = (await call(op.token, 'GET', '/api/v1/audit')).json as any[];
    for (const [aid, by] of [[id, 'api:ops'], [v.json.id, 'api:ops'], [pr.json.id, 'api:root'], [rs.json.id, 'api:root']] as const) {
      assert.deepEqual(audit.filter((e) => e.action_id === aid).map((e) => `${e.by} ${e.result}`), [`${by} accepted`, `${by} ok`]);
    }
    assert.ok(audit.some((e) => e.act === 'prune' && e.by === 'api:ops' && e.result === 'refused'));
  });

  test('restore in place through the API has the CLI\'s safety: refused while the VM runs, done once it is shut off', async (t) => {
    if (!labOrSkip(t)) return;
    const vm = clone!.name;
    const id = newest;
    assert.ok(id, 'no backup (the first test failed)');
    assert.equal(await domstate(vm), 'running');
    const bad = await call(admin.token, 'POST', `/api/v1/vms/${vm}/restore`, { backupId: id, mode: 'in-place', network: 'keep' });
    assert.equal(bad.status, 202);
    const badDone = await finished(admin.token, bad.json.id);
    assert.equal(badDone.state, 'failed');
    assert.match(badDone.detail, /shut off|running/i);
    assert.equal(await domstate(vm), 'running', 'the running VM was not touched');
    await execa('virsh', ['-c', 'qemu:///system', 'destroy', '--domain', vm]);
    const good = await call(admin.token, 'POST', `/api/v1/vms/${vm}/restore`, { backupId: id, mode: 'in-place', network: 'keep' });
    const goodDone = await finished(admin.token, good.json.id);
    assert.equal(goodDone.state, 'ok', goodDone.detail);
    assert.match(goodDone.detail, new RegExp(`as ${vm} on local`));
    assert.equal((await call(admin.token, 'POST', `/api/v1/vms/${vm}/restore`, { backupId: id, mode: 'new', network: 'none' })).json.error?.code, 'RESTORE_REFUSED', 'a new VM needs a name');
  });
});
