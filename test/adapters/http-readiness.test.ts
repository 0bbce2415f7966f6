// /readyz says a status and a stable reason code, never error text: the daemon-state mapping
// (table-tested), the wire body, and the same through inject() and a real socket.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHttpApp, type Readiness } from '../../src/adapters/http/app.js';
import { listen } from '../../src/adapters/http/listen.js';
import { NOT_READY_CODES, READY_NOTE_CODES, readinessBody } from '../../src/adapters/http/readiness.js';
import { readinessOf, type ReadinessInput } from '../../src/daemon/readiness.js';

const SECRET_ERR = 'bacula-dir -t: line 12: Password = "hunter2-s3cret" is not valid in /etc/bacula/vmbackup.conf';
const REV = '0123456789abcdef0123456789abcdef01234567';

describe('/readyz reason codes', () => {
  const table: [string, ReadinessInput, Readiness][] = [
    ['before the first reconcile', { firstDone: false, lastAttemptErrors: [] }, { ready: false, code: 'FIRST_RECONCILE_PENDING' }],
    ['before the first reconcile, errors already', { firstDone: false, lastAttemptErrors: [SECRET_ERR], lastAppliedRevision: REV }, { ready: false, code: 'FIRST_RECONCILE_PENDING' }],
    ['nothing applied, nothing refused', { firstDone: true, lastAttemptErrors: [] }, { ready: false, code: 'NO_APPLIED_REVISION' }],
    ['nothing applied, head refused', { firstDone: true, lastAttemptErrors: [SECRET_ERR] }, { ready: false, code: 'REVISION_REFUSED' }],
    ['nothing applied, apply to retry', { firstDone: true, lastAttemptErrors: [SECRET_ERR], lastAttemptRetry: true }, { ready: false, code: 'STALLED' }],
    ['applied, all well', { firstDone: true, lastAttemptErrors: [], lastAppliedRevision: REV }, { ready: true, revision: REV }],
    ['applied, newer head refused', { firstDone: true, lastAttemptErrors: [SECRET_ERR], lastAppliedRevision: REV }, { ready: true, revision: REV, code: 'REVISION_REFUSED' }],
    ['applied, newer head to retry', { firstDone: true, lastAttemptErrors: [SECRET_ERR], lastAttemptRetry: true, lastAppliedRevision: REV }, { ready: true, revision: REV, code: 'STALLED' }],
  ];
  for (const [name, input, want] of table) {
    test(`state → readiness: ${name}`, () => assert.deepEqual(readinessOf(input), want));
  }

  test('the wire body: only listed codes and a hex revision pass; anything else is replaced', () => {
    assert.deepEqual(readinessBody({ ready: false, code: 'REVISION_REFUSED' }), { status: 503, body: { status: 'not_ready', reason: 'REVISION_REFUSED' } });
    // A caller that smuggles text in (type-unsafe JS) gets a fixed code, not its text.
    assert.deepEqual(readinessBody({ ready: false, code: SECRET_ERR } as unknown as Readiness), { status: 503, body: { status: 'not_ready', reason: 'READINESS_CHECK_FAILED' } });
    assert.deepEqual(readinessBody({ ready: true, revision: 'main; $(id)', code: SECRET_ERR } as unknown as Readiness), { status: 200, body: { status: 'ready' } });
    for (const c of [...NOT_READY_CODES, ...READY_NOTE_CODES]) assert.match(c, /^[A-Z][A-Z_]+$/);
  });

  test('inject(): 503 {status, reason} with a code; a throwing check is a code and its text stays out', async () => {
    let r: Readiness = readinessOf({ firstDone: true, lastAttemptErrors: [SECRET_ERR] });
    const logged: string[] = [];
    const app = buildHttpApp({
      readiness: () => r, metrics: { render: () => '' },
      log: { warn: () => {}, error: (o) => { logged.push(String((o as { err: Error }).err.message)); } },
    });
    let res = await app.inject({ url: '/readyz' });
    assert.equal(res.status, 503);
    assert.equal(res.body, '{"status":"not_ready","reason":"REVISION_REFUSED"}\n');
    r = readinessOf({ firstDone: true, lastAttemptErrors: [SECRET_ERR], lastAppliedRevision: REV });
    res = await app.inject({ url: '/readyz' });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { status: 'ready', revision: REV, reason: 'REVISION_REFUSED' });
    const boom = buildHttpApp({ readiness: () => { throw new Error(SECRET_ERR); }, metrics: { render: () => '' }, log: { warn: () => {}, error: (o) => { logged.push(String((o as { err: Error }).err.message)); } } });
    res = await boom.inject({ url: '/readyz' });
    assert.equal(res.body, '{"status":"not_ready","reason":"READINESS_CHECK_FAILED"}\n');
    assert.ok(!res.body.includes('hunter2'));
    assert.equal(logged.at(-1), SECRET_ERR, 'the text goes to the log (where the redaction point scrubs it)');
  });

  test('real socket: the same bytes, no error text', async () => {
    const app = buildHttpApp({ readiness: () => readinessOf({ firstDone: true, lastAttemptErrors: [SECRET_ERR] }), metrics: { render: () => '' } });
    const h = await listen(app, { port: 0 });
    try {
      const res = await fetch(`${h.url}/readyz`);
      assert.equal(res.status, 503);
      const text = await res.text();
      assert.equal(text, '{"status":"not_ready","reason":"REVISION_REFUSED"}\n');
    } finally { await h.close(200); }
  });
});
