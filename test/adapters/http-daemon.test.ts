// The real daemon process (no lab needed: its policy is refused): /readyz gives a reason code and
// no error text, a replayed webhook delivery is 409, and the HTTP limit flags hold on its socket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { startDaemon, waitFor, WEBHOOK_SECRET, type DaemonProc } from '../helpers/daemon.js';

const MARK = 'zz-unknown-hypervisor-name';

describe('the daemon HTTP surface (real process)', () => {
  let root = '';
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-httpd-'));
    const seed = join(root, 'seed');
    await mkdir(seed);
    // Invalid: the VM names a hypervisor that does not exist; the error text names it.
    await writeFile(join(seed, 'vms.yaml'), `hypervisors: [{ name: hv1 }]\nvms:\n  - { name: vm1, hypervisor: ${MARK}, schedule: weekly, retention_weeks: 2 }\n`);
    repo = await makeRepo(seed);
    d = await startDaemon(repo.bare, join(root, 'state'), ['--no-push', '--max-connections', '3', '--header-timeout', '1']);
  });
  after(async () => { await d?.stop().catch(() => undefined); await repo?.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('/readyz: 503 REVISION_REFUSED, and none of the refusal text', async () => {
    const body = await waitFor('refused', async () => {
      const r = await fetch(`${d!.url}/readyz`);
      const t = await r.text();
      return r.status === 503 && t.includes('REVISION_REFUSED') ? t : undefined;
    }, 30_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
    assert.equal(body, '{"status":"not_ready","reason":"REVISION_REFUSED"}\n');
    assert.ok(d!.logs().includes(MARK), 'the text is in the log');
  });

  test('webhook: a replayed X-GitHub-Delivery is 409 with its code', async () => {
    const payload = JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40) });
    const sig = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(payload).digest('hex')}`;
    const send = () => fetch(`${d!.url}/hooks/git`, { method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig, 'x-github-event': 'push', 'x-github-delivery': 'daemon-delivery-1' } });
    assert.equal((await send()).status, 202);
    const r = await send();
    assert.equal(r.status, 409);
    assert.equal(((await r.json()) as { code: string }).code, 'WEBHOOK_REPLAYED_DELIVERY');
    const big = await fetch(`${d!.url}/hooks/git`, { method: 'POST', body: 'x'.repeat(64 * 1024 + 1), headers: { 'x-hub-signature-256': sig } });
    assert.equal(big.status, 413);
  });

  test('--header-timeout 1: a Slowloris client is cut off in about a second; --max-connections 3 holds', async () => {
    const port = Number(new URL(d!.url).port);
    const open = async (): Promise<{ s: Socket; closed: Promise<number>; data: () => string }> => {
      const s = connect(port, '127.0.0.1');
      let data = '';
      s.on('data', (c: Buffer) => { data += c.toString(); });
      s.on('error', () => {});
      const closed = new Promise<number>((r) => s.once('close', () => r(Date.now())));
      await new Promise((r) => s.once('connect', r));
      return { s, closed, data: () => data };
    };
    const t0 = Date.now();
    const slow = await open();
    slow.s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => { if (!slow.s.destroyed) slow.s.write('X-A: b\r\n'); }, 200);
    try {
      const at = await Promise.race([slow.closed, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('not cut off within 5 s')), 5000))]);
      assert.ok(at - t0 >= 900 && at - t0 < 3000, `cut after ${at - t0} ms`);
      assert.match(slow.data(), /^HTTP\/1\.1 408 /);
    } finally { clearInterval(drip); }
    // fetch() above keeps its sockets alive in this process: let the server's 5 s keep-alive close them.
    await new Promise((r) => setTimeout(r, 5500));
    // Three held connections (keep-alive, answered), the fourth is dropped unanswered.
    const held = [];
    for (let i = 0; i < 3; i++) {
      const c = await open();
      c.s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor('answer', async () => c.data().includes('\r\n\r\n'), 2000, 10);
      held.push(c);
    }
    const extra = await open();
    extra.s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await Promise.race([extra.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('4th connection not dropped')), 3000))]);
    assert.equal(extra.data(), '');
    for (const c of held) c.s.destroy();
  });
});
