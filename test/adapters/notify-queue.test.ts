import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/adapters/logger.js';
import { parseRetryAfter, postJson } from '../../src/adapters/notify/http.js';
import { backoffDelay, DEFAULT_RETRY, NotificationQueue, type RetryPolicy } from '../../src/adapters/notify/queue.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';

function captureLog(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log = createLogger({ level: 'debug', destination: new Writable({ write(c, _e, cb) { out.push(String(c)); cb(); } }) });
  return { log, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const FAST: Partial<RetryPolicy> = { baseDelayMs: 10, maxDelayMs: 100, maxAttempts: 4, maxTotalMs: 10_000 };

function post(queue: NotificationQueue, rx: HttpReceiver, body = '{"text":"hi"}', channel = 'slack-failure'): void {
  queue.enqueue({ channel, kind: 'failure', subject: 'prod-db-01', deliver: () => postJson(rx.url('/services/T/B/TOKEN'), body) });
}

describe('retry policy', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-02-07T17:00:00Z');
    assert.equal(parseRetryAfter('2', now), 2000);
    assert.equal(parseRetryAfter('Sat, 07 Feb 2026 17:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it('backs off exponentially with jitter, capped, never under Retry-After', () => {
    const p: RetryPolicy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(1, p, undefined, () => 1), 100);
    assert.equal(backoffDelay(1, p, undefined, () => 0), 50);
    assert.equal(backoffDelay(3, p, undefined, () => 1), 400);
    assert.equal(backoffDelay(10, p, undefined, () => 1), 1000);
    assert.equal(backoffDelay(1, p, 5000, () => 1), 5000);
  });
});

describe('NotificationQueue against a local HTTP receiver', () => {
  it('429 with Retry-After: waits that long, then delivers', async (t) => {
    const rx = await startHttpReceiver((i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' } : { status: 200, body: 'ok' }));
    t.after(() => rx.close());
    const { log, lines } = captureLog();
    const q = new NotificationQueue({ log, retry: FAST });
    post(q, rx);
    assert.equal(await q.drain(5000), true);
    const [a, b] = rx.requests;
    assert.ok(a && b && rx.requests.length === 2);
    assert.ok(b.at - a.at >= 950, `waited ${b.at - a.at} ms`);
    assert.deepEqual(q.stats, { delivered: 1, failed: 0, dropped: 0, retries: 1 });
    assert.ok(lines().some((l) => l.status === 429 && l.retryInMs === 1000));
  });

  it('503 twice then success', async (t) => {
    const rx = await startHttpReceiver((i) => (i < 2 ? { status: 503, body: 'busy' } : { status: 200, body: 'ok' }));
    t.after(() => rx.close());
    const q = new NotificationQueue({ log: captureLog().log, retry: FAST });
    post(q, rx);
    assert.equal(await q.drain(5000), true);
    assert.equal(rx.requests.length, 3);
    assert.equal(q.stats.delivered, 1);
  });

  it('gives up after maxAttempts, logs it, and never throws into the caller', async (t) => {
    const rx = await startHttpReceiver(() => ({ status: 500, body: 'oops' }));
    t.after(() => rx.close());
    const { log, lines } = captureLog();
    const q = new NotificationQueue({ log, retry: { ...FAST, maxAttempts: 3 } });
    assert.doesNotThrow(() => post(q, rx));
    assert.equal(await q.drain(5000), true);
    assert.equal(rx.requests.length, 3);
    assert.deepEqual(q.stats, { delivered: 0, failed: 1, dropped: 0, retries: 2 });
    const gaveUp = lines().find((l) => l.msg === 'notification not delivered; giving up');
    assert.equal(gaveUp?.attempts, 3);
    assert.equal(gaveUp?.err, 'HTTP 500: oops');
  });

  it('does not retry other 4xx; gives up when Retry-After exceeds the time budget', async (t) => {
    const rx = await startHttpReceiver((_i, c) => (c.body.includes('bad') ? { status: 400, body: 'invalid_blocks' } : { status: 429, headers: { 'retry-after': '3600' } }));
    t.after(() => rx.close());
    const q = new NotificationQueue({ log: captureLog().log, retry: FAST });
    post(q, rx, '{"bad":1}', 'a');
    post(q, rx, '{"slow":1}', 'b');
    assert.equal(await q.drain(5000), true);
    assert.equal(rx.requests.length, 2);
    assert.equal(q.stats.failed, 2);
  });

  it('network errors are retried', async () => {
    const rx = await startHttpReceiver();
    const url = rx.url('/x');
    await rx.close();
    const q = new NotificationQueue({ log: captureLog().log, retry: { ...FAST, maxAttempts: 2 } });
    q.enqueue({ channel: 'webhook', kind: 'failure', deliver: () => postJson(url, '{}') });
    assert.equal(await q.drain(5000), true);
    assert.deepEqual(q.stats, { delivered: 0, failed: 1, dropped: 0, retries: 1 });
  });

  it('enqueue returns at once; drain times out while retrying; close() stops the retries', async (t) => {
    const rx = await startHttpReceiver(() => ({ status: 503 }));
    t.after(() => rx.close());
    const q = new NotificationQueue({ log: captureLog().log, retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 5, maxTotalMs: 600_000 } });
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) post(q, rx);
    assert.ok(performance.now() - t0 < 50, 'enqueue does not wait for the network');
    assert.equal(await q.drain(200), false);
    assert.equal(q.size, 50);
    q.close();
    assert.equal(await q.drain(5000), true);
    assert.equal(rx.requests.length, 1, 'the other 49 were dropped without a retry storm');
    assert.deepEqual(q.stats, { delivered: 0, failed: 1, dropped: 49, retries: 1 });
  });

  it('delivers each channel in order, channels independently; caps the backlog', async (t) => {
    const rx = await startHttpReceiver();
    t.after(() => rx.close());
    const q = new NotificationQueue({ log: captureLog().log, retry: FAST, maxQueued: 3 });
    for (let i = 0; i < 5; i++) post(q, rx, JSON.stringify({ n: i }));
    assert.equal(await q.drain(5000), true);
    const ns = rx.requests.map((r) => (r.json as { n: number }).n);
    assert.deepEqual(ns, [...ns].sort((a, b) => a - b));
    assert.equal(q.stats.dropped + q.stats.delivered, 5);
    assert.ok(q.stats.dropped >= 1);
  });
});
