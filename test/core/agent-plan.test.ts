// The installer's decisions, pure: what is deployed where, and install / unchanged / update (with a
// redacted diff) / refuse, and what --check and --yes make of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { desiredItems, manifestText, programDir, renderFdConfig, wrapperScript, type FileItem } from '../../src/core/agent/desired.js';
import { decide, redactSecrets, stepFor, type Observed } from '../../src/core/agent/plan.js';
import type { Hypervisor } from '../../src/core/model.js';
import { ROOT } from '../helpers/paths.js';

const hv = { name: 'hv1', address: '10.0.0.1', fdPort: 9102, fdPassword: { env: 'HV1_FD_PASSWORD' }, stateDir: '/var/lib/vmbackup', maxConcurrentJobs: 1, runsOn: 'hypervisor' } as unknown as Hypervisor;
const template = readFileSync(join(ROOT, 'templates', 'bacula-fd.conf.hbs'), 'utf8');
const SECRET = 's3cret-Pa55word';
const fd = renderFdConfig(template, hv, 'vmbackup-dir').replace('@@secret:env:HV1_FD_PASSWORD@@', SECRET);
const manifest = manifestText([{ path: 'package.json', sha256: 'a'.repeat(64) }, { path: 'dist/src/main.js', sha256: 'b'.repeat(64) }]);
const items = desiredItems({ hv, version: '0.1.0', fdConfig: fd, manifest, files: 2, root: '/var/tmp/x' });
const fdItem = items.find((i) => i.label === 'bacula-fd configuration') as FileItem;

test('the desired list: program tree, wrapper, state dir, fd config, all under --root', () => {
  assert.deepEqual(items.map((i) => [i.kind, i.path]), [
    ['tree', '/var/tmp/x/opt/vmbackup/0.1.0'], ['file', '/var/tmp/x/usr/bin/vmbackup'], ['dir', '/var/tmp/x/var/lib/vmbackup'], ['file', '/var/tmp/x/etc/bacula/bacula-fd.conf'],
  ]);
  assert.equal(desiredItems({ hv, version: '0.1.0', fdConfig: fd, manifest, files: 2, root: '/' })[1]!.path, '/usr/bin/vmbackup');
  assert.match(wrapperScript('0.1.0'), /^#!\/bin\/sh\n[^]*exec node \/opt\/vmbackup\/0\.1\.0\/dist\/src\/main\.js "\$@"\n$/);
  assert.throws(() => programDir('0.1.0; rm -rf /'), /VMB_AGENT_REFUSED/);
  assert.throws(() => programDir('../../etc'), /VMB_AGENT_REFUSED/);
  assert.equal(manifest.split('\n')[0], `${'b'.repeat(64)}  dist/src/main.js`, 'sorted by path');
  assert.throws(() => manifestText([{ path: '../x', sha256: 'a'.repeat(64) }]), /VMB_AGENT_REFUSED/);
});

test('the fd config names <hv>-fd, its port and the Director; the password only as a placeholder', () => {
  const t = renderFdConfig(template, hv, 'vmbackup-dir');
  assert.match(t, /FileDaemon \{\n\s+Name = "hv1-fd"\n\s+FDport = 9102\n/);
  assert.match(t, /Director \{\n\s+Name = "vmbackup-dir"\n\s+Password = "@@secret:env:HV1_FD_PASSWORD@@"\n/);
  assert.match(t, /director = vmbackup-dir = all/);
});

test('absent → install without --yes; equal → unchanged; a second run changes nothing', () => {
  const absent = items.map((i) => stepFor(i, { kind: 'absent' }));
  assert.deepEqual(absent.map((s) => s.action), ['install', 'install', 'install', 'install']);
  const d = decide(absent, {});
  assert.equal(d.outcome, 'installed');
  assert.equal(d.apply.length, 4);
  assert.equal(d.exitCode, 0);
  const same: Observed[] = [
    { kind: 'dir', mode: 0o755, owner: 'root:root', manifest },
    { kind: 'file', mode: 0o755, owner: 'root:root', content: wrapperScript('0.1.0') },
    { kind: 'dir', mode: 0o750, owner: 'root:root' },
    { kind: 'file', mode: 0o640, owner: 'root:root', content: fd },
  ];
  const again = items.map((i, k) => stepFor(i, same[k]!));
  assert.deepEqual(again.map((s) => s.action), ['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  assert.deepEqual(decide(again, {}), { outcome: 'no-changes', apply: [], exitCode: 0 });
  assert.deepEqual(decide(again, { check: true }), { outcome: 'no-changes', apply: [], exitCode: 0 });
});

test('a hand-edited fd config: a diff with the password redacted; nothing without --yes (exit 2); --check exit 1; --yes applies', () => {
  const edited = fd.replace('FDport = 9102', 'FDport = 9999').replace(SECRET, 'hand-typed-other-pw');
  const s = stepFor(fdItem, { kind: 'file', mode: 0o640, owner: 'root:root', content: edited });
  assert.equal(s.action, 'update');
  assert.match(s.diff!, /^-\s+FDport = 9999$/m);
  assert.match(s.diff!, /^\+\s+FDport = 9102$/m);
  assert.match(s.diff!, /^-\s+Password = "\[redacted, differs\]"$/m);
  assert.match(s.diff!, /^\+\s+Password = "\[redacted\]"$/m);
  assert.ok(!s.diff!.includes(SECRET) && !s.diff!.includes('hand-typed-other-pw'));
  assert.deepEqual(decide([s], {}), { outcome: 'needs-yes', apply: [], exitCode: 2 });
  assert.deepEqual(decide([s], { check: true }), { outcome: 'drift', apply: [], exitCode: 1 });
  assert.equal(decide([s], { yes: true }).apply.length, 1);
  // Only the mode changed: no diff, the mode named.
  const m = stepFor(fdItem, { kind: 'file', mode: 0o644, owner: 'root:root', content: fd });
  assert.equal(m.action, 'update');
  assert.equal(m.detail, 'mode 0644 → 0640');
  // Control characters in deployed content are escaped, never passed to the terminal.
  const esc = stepFor(fdItem, { kind: 'file', mode: 0o640, owner: 'root:root', content: fd + '# \x1b]0;pwned\x07\n' });
  assert.ok(!esc.diff!.includes('\x1b') && esc.diff!.includes('\\x1b'));
});

test('redactSecrets: every Password line; a deployed one equal to ours is not marked as differing', () => {
  assert.equal(redactSecrets('  Password = "abc"\n  password="x"\nName = a\n'), '  Password = "[redacted]"\n  password="[redacted]"\nName = a\n');
  assert.equal(redactSecrets('  Password = "abc"\n', '  Password = "abc"\n'), '  Password = "[redacted]"\n');
});

test('symlinks and wrong file types are refused, and a refusal changes nothing even with --yes', () => {
  const s = stepFor(fdItem, { kind: 'symlink' });
  assert.equal(s.action, 'refuse');
  const ok = stepFor(items[1]!, { kind: 'absent' });
  assert.deepEqual(decide([ok, s], { yes: true }), { outcome: 'refused', apply: [], exitCode: 1 });
  assert.equal(stepFor(items[0]!, { kind: 'file', mode: 0o644, owner: 'root:root', content: '' }).action, 'refuse');
  assert.equal(stepFor(fdItem, { kind: 'other', type: 'fifo' }).action, 'refuse');
  assert.equal(stepFor(items[2]!, { kind: 'symlink' }).action, 'refuse');
  assert.match(stepFor(fdItem, { kind: 'symlink', at: '/var/tmp/x/etc/bacula' }).detail!, /its directory \/var\/tmp\/x\/etc\/bacula is a symbolic link/);
});

test('the program tree: a different or missing manifest is an update with the manifest diff', () => {
  const other = manifestText([{ path: 'package.json', sha256: 'c'.repeat(64) }, { path: 'dist/src/main.js', sha256: 'b'.repeat(64) }]);
  const s = stepFor(items[0]!, { kind: 'dir', mode: 0o755, owner: 'root:root', manifest: other });
  assert.equal(s.action, 'update');
  assert.match(s.diff!, /^-c{64}  package\.json$/m);
  assert.equal(stepFor(items[0]!, { kind: 'dir', mode: 0o755, owner: 'root:root', manifest: null }).action, 'update');
});
