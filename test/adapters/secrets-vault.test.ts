import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { baculaEscape } from '../../src/core/bacula-syntax.js';
import { fillSecrets } from '../../src/core/secrets-fill.js';
import { createLogger } from '../../src/adapters/logger.js';
import { SecretError, SecretVault } from '../../src/adapters/secrets/vault.js';
import { StateStore } from '../../src/adapters/store/state-store.js';

const PW = 'pa"ss\\w0rd-Zq9';
const HOOK = 'https://hooks.example.com/services/T0/B0/SeCrEtToKeN?x=1&y=2';

describe('SecretVault.scrub', () => {
  const vault = new SecretVault();
  vault.resolve({ env: 'PW' }, { PW });
  vault.resolve({ env: 'HOOK' }, { HOOK });

  it('removes the value and every derived form', () => {
    const forms = {
      raw: PW,
      bacula: baculaEscape(PW),
      json: JSON.stringify(PW).slice(1, -1),
      jsonOfBacula: JSON.stringify(baculaEscape(PW)).slice(1, -1),
      doubleJson: JSON.stringify(JSON.stringify(PW).slice(1, -1)).slice(1, -1),
      url: encodeURIComponent(PW),
      hook: HOOK,
      hookPathQuery: '/services/T0/B0/SeCrEtToKeN?x=1&y=2',
      hookEncoded: encodeURIComponent(HOOK),
      hookJson: JSON.stringify(HOOK).slice(1, -1),
    };
    for (const [name, form] of Object.entries(forms)) {
      const out = vault.scrub(`before ${form} after`);
      assert.equal(out, 'before [redacted] after', `${name}: ${out}`);
    }
  });

  it('scrubs inside a serialized JSON log line and a Bacula config line', () => {
    const line = JSON.stringify({ msg: 'x', err: `Password = "${baculaEscape(PW)}" junk` });
    assert.ok(!line.includes('w0rd-Zq9') || vault.scrub(line).indexOf('w0rd-Zq9') === -1);
    assert.ok(!vault.scrub(line).includes('w0rd-Zq9'), vault.scrub(line));
    assert.doesNotThrow(() => JSON.parse(vault.scrub(line)));
  });

  it('refuses a value with a control character, naming the reference, and still scrubs its pieces', () => {
    const v = new SecretVault();
    const bad = 'line-one-secret\nline-two-secret\u001b[31m';
    assert.throws(() => v.resolve({ env: 'BAD_SECRET' }, { BAD_SECRET: bad }), (e: unknown) => {
      assert.ok(e instanceof SecretError);
      assert.match(e.message, /env BAD_SECRET: the value contains a control character/);
      assert.ok(!e.message.includes('line-one'), e.message);
      return true;
    });
    const echoed = `x line-one-secret y line-two-secret z ${JSON.stringify(bad)}`;
    const out = v.scrub(echoed);
    assert.ok(!out.includes('line-one-secret') && !out.includes('line-two-secret'), out);
    // lookup (the Bacula fill) refuses too: a missing secret is undefined, a control character throws.
    assert.equal(v.lookup({})({ env: 'NOPE' }), undefined);
    assert.throws(() => fillSecrets('Password = "@@secret:env:BAD_SECRET@@"', v.lookup({ BAD_SECRET: bad })), /BAD_SECRET/);
  });

  it('trims one trailing newline of a credential file, refuses any other control character', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-vault-'));
    try {
      await writeFile(join(dir, 'ok'), 'cred-value-1\n');
      await writeFile(join(dir, 'two'), 'cred-value-2\n\n');
      await writeFile(join(dir, 'nul'), 'cred\u0000value-3');
      const v = new SecretVault();
      const env = { CREDENTIALS_DIRECTORY: dir };
      assert.equal(v.resolve({ credential: 'ok' }, env), 'cred-value-1');
      assert.throws(() => v.resolve({ credential: 'two' }, env), /credential two: the value contains a control character/);
      assert.throws(() => v.resolve({ credential: 'nul' }, env), /credential nul: the value contains a control character/);
      assert.equal(v.scrub('cred-value-1 cred-value-2 value-3'), '[redacted] [redacted] [redacted]');
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  it('the logger scrubs the final line, whatever field holds the value', () => {
    const lines: string[] = [];
    const log = createLogger({ vault, destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
    log.child({ run: 'r1' }).error({ err: `bacula-dir: Password = "${baculaEscape(PW)}"`, nested: { deep: [HOOK] } }, `msg with ${PW}`);
    const all = lines.join('');
    assert.ok(!all.includes('w0rd-Zq9') && !all.includes('SeCrEtToKeN'), all);
    assert.match(all, /\[redacted\]/);
  });

  it('state.json: scrubbed, mode 0600, written through a random temp file that is gone afterwards', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-state-'));
    try {
      const store = await StateStore.open(dir, { scrub: vault.scrub });
      await store.update((d) => { d.lastAttemptErrors = [`bacula-dir -t: Password = "${baculaEscape(PW)}"`, HOOK]; });
      const text = await readFile(join(dir, 'state.json'), 'utf8');
      assert.ok(!text.includes('w0rd-Zq9') && !text.includes('SeCrEtToKeN'), text);
      assert.equal((await stat(join(dir, 'state.json'))).mode & 0o777, 0o600);
      assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.tmp')), []);
      const again = await StateStore.open(dir, { scrub: vault.scrub });
      assert.equal((again.data.lastAttemptErrors as string[])[1], '[redacted]');
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  it("state.json in a group-shared state dir (the unit's 2770): 0660, so Bacula's RunScripts (user bacula, same group) can update it", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-state-'));
    try {
      await chmod(dir, 0o2770);
      const store = await StateStore.open(dir, { scrub: vault.scrub });
      await store.update((d) => { d.x = 1; });
      assert.equal((await stat(join(dir, 'state.json'))).mode & 0o777, 0o660);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });
});
