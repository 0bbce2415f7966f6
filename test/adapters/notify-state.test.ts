// Dedup and recovery detection shared between processes through the state store, and the digest
// schedule (croner, settings.time_zone).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/adapters/logger.js';
import { DEFAULT_DIGEST_SCHEDULE, nextDigest, scheduleDigest } from '../../src/adapters/notify/digest-schedule.js';
import { createNotifier } from '../../src/adapters/notify/notifier.js';
import { previousRunFrom, SENT_KEY, stateStoreDedup } from '../../src/adapters/notify/state.js';
import { StateStore, type RunRecord } from '../../src/adapters/store/state-store.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';

const quiet = (): ReturnType<typeof createLogger> => createLogger({ destination: new Writable({ write(_c, _e, cb) { cb(); } }) });

const run = (p: Partial<RunRecord>): RunRecord => ({
  id: 'r', kind: 'backup', vm: 'prod-db-01', hypervisor: 'hypervisor-01', started: '2026-02-07T17:00:00Z',
  finished: '2026-02-07T17:30:00Z', status: 'failed', error: 'boom', warnings: [], pid: 1, steps: [], ...p,
});

describe('notifier state in the state store', () => {
  let dir: string;
  let slack: HttpReceiver;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'vmb-notify-state-')); slack = await startHttpReceiver(); });
  after(async () => { await slack.close(); await rm(dir, { recursive: true, force: true }); });

  it('two processes (two notifiers, one state file) share dedup and spot a recovery', async () => {
    const now = new Date('2026-02-07T17:31:00Z');
    const make = async () => {
      const store = await StateStore.open(dir);
      return {
        store,
        n: await createNotifier({
          notifications: { slack: { failureWebhook: { env: 'HOOK' }, digestSchedule: DEFAULT_DIGEST_SCHEDULE } },
          env: { HOOK: slack.url('/services/x/y/z'), VMBACKUP_ALLOW_PLAINTEXT_HTTP: '1' }, log: quiet(), now: () => now,
          dedup: stateStoreDedup(store), previousRun: previousRunFrom(store),
        }),
      };
    };
    const a = await make();
    const first = run({ id: 'r1' });
    await a.store.saveRun(first);
    await a.n.notify({ kind: 'failure', run: first });
    await a.n.drain(5000);

    const b = await make(); // another `vmbackup backup` process
    await b.n.notify({ kind: 'failure', run: first });
    const ok = run({ id: 'r2', started: '2026-02-08T17:00:00Z', finished: '2026-02-08T17:20:00Z', status: 'ok', error: undefined });
    await b.store.saveRun(ok);
    await b.n.notify({ kind: 'success', run: ok });
    await b.n.drain(5000);

    const titles = slack.requests.map((r) => (r.json as { blocks: { text?: { text: string } }[] }).blocks[0]?.text?.text);
    assert.deepEqual(titles, ['Backup failed: prod-db-01 on hypervisor-01', 'Recovered: prod-db-01 on hypervisor-01']);
    const reopened = await StateStore.open(dir);
    await reopened.runs();
    const sent = reopened.data[SENT_KEY] as { key: string }[];
    assert.deepEqual(sent.map((e) => e.key).sort(), ['failure:prod-db-01', 'recovery:prod-db-01']);
    a.n.close(); b.n.close();
  });
});

describe('digest schedule', () => {
  it('defaults to Sunday 18:00 in settings.time_zone', () => {
    const wed = new Date('2026-02-04T12:00:00Z');
    assert.equal(nextDigest(DEFAULT_DIGEST_SCHEDULE, 'America/New_York', wed)?.toISOString(), '2026-02-08T23:00:00.000Z');
    assert.equal(nextDigest(DEFAULT_DIGEST_SCHEDULE, 'Europe/Berlin', wed)?.toISOString(), '2026-02-08T17:00:00.000Z');
    assert.throws(() => nextDigest('not a cron', 'UTC', wed));
  });

  it('fires on its schedule, logs (not throws) a failing run, and stops', async () => {
    let calls = 0;
    const d = scheduleDigest({ schedule: '* * * * * *', timeZone: 'UTC', log: quiet(), run: async () => { calls++; throw new Error('no status yet'); } });
    assert.ok(d.next());
    await new Promise((r) => setTimeout(r, 2200));
    d.stop();
    const seen = calls;
    assert.ok(seen >= 1, `ran ${seen} times`);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(calls, seen, 'no run after stop()');
  });
});
