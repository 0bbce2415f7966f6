// The shipped unit, checked by the real `systemd-analyze` (works without systemd as PID 1). verify
// resolves ExecStart= on the host, so it runs with --root on a scratch tree holding the unit,
// stub /usr/bin/vmbackup and /bin/kill, and a copy of the distribution's units (sysinit.target …).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { requireAnalyze, runAnalyze, scratchRoot } from '../helpers/systemd-analyze.js';

const UNIT = join(ROOT, 'systemd/vmbackup.service');
/** A scratch root holding the shipped unit (and a stub /usr/bin/vmbackup unless `withVmbackup` is false). */
const unitRoot = (unitText: string, withVmbackup = true): Promise<string> => scratchRoot({ 'vmbackup.service': unitText }, withVmbackup ? ['vmbackup', 'kill'] : ['kill']);

/** `Key=value` lines of the unit, comments dropped, repeated keys kept in order. */
function directives(text: string): [string, string][] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('['))
    .map((l) => { const i = l.indexOf('='); return [l.slice(0, i), l.slice(i + 1)] as [string, string]; });
}

describe('systemd/vmbackup.service', () => {
  let text = '';
  const roots: string[] = [];
  before(async () => { text = await readFile(UNIT, 'utf8'); });
  after(async () => { for (const r of roots) await rm(r, { recursive: true, force: true }); });

  test('systemd-analyze verify: exit 0 and no warnings at all', async (t) => {
    if (!requireAnalyze(t)) return;
    const root = await unitRoot(text); roots.push(root);
    const r = runAnalyze(['verify', `--root=${root}`, 'vmbackup.service']);
    t.diagnostic(`systemd-analyze verify: rc=${r.status} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'unknown keys and bad values are only warnings (rc stays 0), so stderr must be empty');
    assert.equal(r.stdout, '');
  });

  test('the harness does catch mistakes: a bogus key warns, a missing ExecStart binary fails', async (t) => {
    if (!requireAnalyze(t)) return;
    const bogus = await unitRoot(text.replace('[Service]\n', '[Service]\nRestartt=always\nRestart=sometimes\n')); roots.push(bogus);
    const r = runAnalyze(['verify', `--root=${bogus}`, 'vmbackup.service']);
    assert.match(r.stderr, /Unknown key 'Restartt'|Unknown lvalue 'Restartt'/);
    assert.match(r.stderr, /restart specifier/);
    const nobin = await unitRoot(text, false); roots.push(nobin);
    const m = runAnalyze(['verify', `--root=${nobin}`, 'vmbackup.service']);
    assert.equal(m.status, 1);
    assert.match(m.stderr, /\/usr\/bin\/vmbackup is not executable/);
  });

  test('systemd-analyze security --offline: exposure at most 2.0 ("OK")', async (t) => {
    if (!requireAnalyze(t)) return;
    const root = await unitRoot(text); roots.push(root);
    const r = runAnalyze(['security', '--offline=yes', '--threshold=20', `--root=${root}`, 'vmbackup.service']);
    const level = /Overall exposure level for vmbackup\.service: ([\d.]+)/.exec(r.stdout + r.stderr);
    t.diagnostic(`exposure: ${level?.[1]}`);
    assert.ok(level, r.stdout + r.stderr);
    assert.equal(r.status, 0, `exposure ${level[1]} is above 2.0`);
  });

  test('the settings the daemon relies on are there', () => {
    const d = directives(text);
    const get = (k: string) => d.filter(([key]) => key === k).map(([, v]) => v);
    const one = (k: string) => { const v = get(k); assert.equal(v.length, 1, `${k} set once`); return v[0]!; };
    assert.equal(one('Type'), 'notify');
    assert.equal(one('NotifyAccess'), 'all', 'systemd-notify runs as a child of the main process');
    assert.match(one('WatchdogSec'), /^\d+s?$/);
    assert.equal(one('User'), 'vmbackup');
    assert.match(one('ExecStart'), /^\/usr\/bin\/vmbackup daemon --repo \$\{VMBACKUP_REPO\} --state-dir \$\{STATE_DIRECTORY\}/);
    assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(one('EnvironmentFile'), '-/etc/vmbackup/vmbackup.env');
    for (const [k, v] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['PrivateTmp', 'yes'], ['ProtectHome', 'yes'], ['LockPersonality', 'yes'], ['SystemCallArchitectures', 'native'], ['KillMode', 'mixed'], ['Restart', 'on-failure'], ['StateDirectory', 'vmbackup'], ['RuntimeDirectory', 'vmbackup'], ['RestrictAddressFamilies', 'AF_UNIX AF_INET AF_INET6 AF_NETLINK']]) {
      assert.equal(one(k!), v, k);
    }
    for (const k of ['ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs']) assert.equal(one(k), 'yes');
    assert.deepEqual(one('ReadWritePaths').split(' ').map((p) => p.replace(/^-/, '')), ['/etc/bacula', '/mnt/backup']);
    const stop = one('TimeoutStopSec');
    assert.ok(/^\d+min$/.test(stop) && Number.parseInt(stop, 10) >= 60, 'TimeoutStopSec covers an overlay commit (1 h by default)');
    assert.ok(!get('MemoryDenyWriteExecute').length, 'V8 needs W+X pages');
  });

  test('memory: MemoryHigh= below MemoryMax=, both above the soak figure (bench:soak), and the V8 young-generation cap', () => {
    const d = new Map(directives(text));
    const mib = (v: string | undefined): number => { const m = /^(\d+)([MG])$/.exec(v ?? ''); assert.ok(m, `a size in M or G, got ${v}`); return Number(m[1]) * (m[2] === 'G' ? 1024 : 1); };
    const high = mib(d.get('MemoryHigh')); const max = mib(d.get('MemoryMax'));
    assert.ok(high < max, `MemoryHigh ${high} MiB < MemoryMax ${max} MiB`);
    assert.ok(high >= 2 * 150, 'MemoryHigh leaves room above the 150 MB steady state for git/ssh children and a 10,000-VM pass');
    assert.match(text, /^Environment="NODE_OPTIONS=--max-old-space-size=\d+ --max-semi-space-size=\d+"$/m, 'quoted: systemd splits Environment= on spaces');
    assert.match(text, /npm run bench:soak/, 'the comment names the command the figure came from');
  });

  test('credentials: every LoadCredentialEncrypted name is documented in install.sh and docs/operations.md', async () => {
    const names = directives(text).filter(([k]) => k === 'LoadCredentialEncrypted').map(([, v]) => v);
    assert.ok(names.includes('webhook-hmac-secret') && names.includes('slack-failure-webhook'));
    for (const n of names) assert.match(n, /^[a-z0-9-]+$/, 'name only: looked up in /etc/credstore(.encrypted), missing is not fatal');
    const install = await readFile(join(ROOT, 'systemd/install.sh'), 'utf8');
    const ops = await readFile(join(ROOT, 'docs/operations.md'), 'utf8');
    for (const n of names) {
      assert.ok(install.includes(n), `install.sh mentions ${n}`);
      assert.ok(ops.includes(`\`${n}\``), `docs/operations.md documents ${n}`);
    }
  });
});
