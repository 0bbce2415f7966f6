import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecordedRestorePoints } from '../../src/app/policy-source.js';

const point = (day: string): string => `  - id: 2026-11-${day}-060000\n    time: 2026-11-${day}T06:00:00Z\n    status: ok\n    verify: ok\n`;
const FILES: Record<string, string> = {
  'a.yaml': `vm: a\nrestore_points:\n${point('01')}`,
  'renamed.yaml': `# a VM whose file has another name\nvm: b\nrestore_points:\n${point('02')}`,
  'c.yaml': `vm: c\nrestore_points:\n${point('03')}`,
  'd.yaml': `vm: d\nrestore_points:\n${point('04')}`,
  'esc.yaml': `vm: "\\x64"\nrestore_points:\n${point('05')}`, // "d" built by an escape; sorts after d.yaml, so it wins
  'e.yaml': 'vm: [unclosed\n',
  'f.yaml': `{vm: f, restore_points: [{id: 2026-11-06-060000, time: 2026-11-06T06:00:00Z, status: failed}]}\n`,
  'g.yaml': `vm: |-\n  g\nrestore_points:\n${point('07')}`,
  'h.yaml': `vm: zzz\nrestore_points:\n${point('08')}`,
  'mention.yaml': `vm: x\nnote: not-a\nrestore_points:\n${point('09')}`,
};

describe('readRecordedRestorePoints with only: the VMs asked for get exactly their unfiltered entries', () => {
  let repo = '';
  before(async () => {
    repo = await mkdtemp(join(tmpdir(), 'vmb-points-'));
    await mkdir(join(repo, 'status', 'vms'), { recursive: true });
    for (const [n, t] of Object.entries(FILES)) await writeFile(join(repo, 'status', 'vms', n), t);
  });
  after(async () => rm(repo, { recursive: true, force: true }));

  test('entries of the VMs in only are unchanged; files that cannot hold them are skipped', async () => {
    const all = await readRecordedRestorePoints(repo, 'status');
    const only = new Set(['a', 'b', 'd', 'e', 'f', 'g', 'h', 'not']);
    const some = await readRecordedRestorePoints(repo, 'status', only);
    for (const v of only) assert.deepEqual(some.get(v), all.get(v), v);
    assert.deepEqual(some.get('d')!.map((p) => p.id), ['2026-11-05-060000']);
    assert.deepEqual(some.get('b')!.map((p) => p.id), ['2026-11-02-060000']);
    assert.deepEqual(some.get('e'), []);
    assert.equal(all.has('c'), true);
    assert.equal(some.has('c'), false, 'c.yaml names no VM asked for: not parsed');
    assert.equal(some.has('x'), false, '"a" inside "not-a" is no reason to parse mention.yaml');
  });

  test('an unusual name disables the shortcut', async () => {
    const some = await readRecordedRestorePoints(repo, 'status', new Set(['a', 'odd name']));
    assert.deepEqual([...some.keys()], [...(await readRecordedRestorePoints(repo, 'status')).keys()]);
  });
});
