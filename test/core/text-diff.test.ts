import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, createTwoFilesPatch, parsePatch } from 'diff';
import fc from 'fast-check';
import { splitBlocks, splitLines, unifiedDiff } from '../../src/core/text-diff.js';

const patch = (a: string, b: string, context = 3): string => unifiedDiff('a/f.conf', 'b/f.conf', a, b, 'base', 'head', context);

/** Every hunk's counts match its lines, and applying the patch gives the new text back. */
function assertValid(a: string, b: string, context = 3): string {
  const p = patch(a, b, context);
  assert.equal(applyPatch(a, p), b, `patch does not apply:\n${p}`);
  for (const h of parsePatch(p)[0]!.hunks) {
    const body = h.lines.filter((l) => !l.startsWith('\\'));
    assert.equal(body.filter((l) => l[0] !== '+').length, h.oldLines, `old count of @@ -${h.oldStart},${h.oldLines}`);
    assert.equal(body.filter((l) => l[0] !== '-').length, h.newLines, `new count of @@ +${h.newStart},${h.newLines}`);
  }
  return p;
}

const block = (name: string, extra = ''): string => `Job {\n  Name = "${name}"\n  Priority = 10\n${extra}}\n\n`;
const conf = (names: string[]): string => `# header\n\n${names.map((n) => block(n)).join('')}# end\n`;

describe('unifiedDiff: the layout of jsdiff createTwoFilesPatch', () => {
  const cases: { name: string; a: string; b: string }[] = [
    { name: 'one line changed in the middle', a: 'a\nb\nc\nd\ne\nf\ng\n', b: 'a\nb\nc\nX\ne\nf\ng\n' },
    { name: 'lines appended', a: 'a\nb\n', b: 'a\nb\nc\nd\n' },
    { name: 'lines removed at the start', a: 'x\ny\na\nb\nc\nd\n', b: 'a\nb\nc\nd\n' },
    { name: 'from empty', a: '', b: 'a\nb\n' },
    { name: 'to empty', a: 'a\nb\n', b: '' },
    { name: 'newline added at the end', a: 'a\nb', b: 'a\nb\n' },
    { name: 'newline removed at the end', a: 'a\nb\n', b: 'a\nb' },
    { name: 'two far changes: two hunks', a: 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n', b: 'A\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL\n' },
    { name: 'two near changes: one hunk', a: 'a\nb\nc\nd\ne\nf\ng\n', b: 'A\nb\nc\nd\ne\nf\nG\n' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const p = assertValid(c.a, c.b);
      assert.equal(p, createTwoFilesPatch('a/f.conf', 'b/f.conf', c.a, c.b, 'base', 'head', { context: 3 }));
    });
  }

  test('headers: underline, ---/+++ with tab-separated labels', () => {
    const lines = patch('a\n', 'b\n').split('\n');
    assert.deepEqual(lines.slice(0, 4), ['='.repeat(67), '--- a/f.conf\tbase', '+++ b/f.conf\thead', '@@ -1,1 +1,1 @@']);
  });
});

describe('unifiedDiff: paragraph-level diff with exact line numbers', () => {
  const names = Array.from({ length: 40 }, (_, i) => `vm-${String(i).padStart(2, '0')}`);
  test('a block moved, one changed, one added, one removed', () => {
    const b = [...names];
    b.splice(30, 0, b.splice(3, 1)[0]!);
    b[10] = 'vm-changed';
    b.splice(20, 1);
    b.push('vm-new');
    const p = assertValid(conf(names), conf(b));
    assert.match(p, /^\+  Name = "vm-new"$/m);
    assert.match(p, /^-  Name = "vm-11"$/m);
  });

  test('a line changed inside one block shows as that line only', () => {
    const a = conf(names);
    const b = a.replace('Name = "vm-07"\n  Priority = 10', 'Name = "vm-07"\n  Priority = 3');
    const p = assertValid(a, b);
    assert.deepEqual(p.split('\n').filter((l) => /^[-+][^-+]/.test(l)), ['-  Priority = 10', '+  Priority = 3']);
    assert.equal(p, createTwoFilesPatch('a/f.conf', 'b/f.conf', a, b, 'base', 'head', { context: 3 }));
  });

  test('context 0 and 1 stay valid', () => {
    const b = [...names].reverse();
    for (const ctx of [0, 1]) assertValid(conf(names), conf(b), ctx);
  });

  test('random edits of blank-line separated blocks', () => {
    const blockArb = fc.array(fc.constantFrom('x = 1', 'y = 2', 'Job {', '}', '', '  Name = "a"'), { minLength: 0, maxLength: 4 }).map((ls) => ls.join('\n'));
    const text = fc.tuple(fc.array(blockArb, { maxLength: 12 }), fc.boolean()).map(([bs, nl]) => bs.join('\n\n') + (nl ? '\n' : ''));
    fc.assert(fc.property(text, text, (a, b) => {
      if (a === b) return;
      assertValid(a, b, 0);
      assertValid(a, b, 3);
    }), { numRuns: 1500 });
  });

  test('splitLines keeps terminators; splitBlocks ends each paragraph after its blank line', () => {
    assert.deepEqual(splitLines('a\n\nb'), ['a\n', '\n', 'b']);
    assert.deepEqual(splitBlocks('a\nb\n\n\nc\n'), ['a\nb\n\n', '\n', 'c\n']);
    assert.deepEqual(splitBlocks('\na'), ['\n', 'a']);
    assert.deepEqual(splitBlocks(''), []);
  });
});

describe('unifiedDiff: large inputs stay near-linear (the benchmark times them)', () => {
  const many = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));
  // ~12 MB, the size of a 10,000-VM bacula-dir.conf: 10,000 blocks of ~1.2 kB.
  const body = 'x'.repeat(1100);
  const big = (names: string[]): string => names.map((n) => block(n, `  Comment = "${body}"\n`)).join('');
  const names = many(10_000, (i) => `vm-${i}`);

  test('12 MB, 5% of the blocks changed, moved, added or removed', () => {
    const b = [...names];
    for (let i = 0; i < 150; i++) b[i * 60] = `vm-renamed-${i}`;
    for (let i = 0; i < 50; i++) b.splice(i * 150 + 7, 1);
    for (let i = 0; i < 50; i++) b.splice(i * 170 + 3, 0, `vm-added-${i}`);
    for (let i = 0; i < 50; i++) b.splice(9_000 - i * 90, 0, b.splice(i * 180 + 11, 1)[0]!);
    const a = big(names);
    assert.ok(a.length > 11_000_000);
    assert.equal(applyPatch(a, patch(a, big(b))), big(b));
  });

  test('every block changed (bounded Myers gives up, blocks are paired in order)', () => {
    const a = big(names.slice(0, 3000));
    const b = a.replace(/Priority = 10/g, 'Priority = 5');
    assert.equal(applyPatch(a, patch(a, b)), b);
  });

  test('no blank lines at all: one huge paragraph', () => {
    const a = many(60_000, (i) => `line ${i}`).join('\n') + '\n';
    const b = a.replace('line 30000\n', 'line thirty thousand\n');
    const p = patch(a, b);
    assert.equal(applyPatch(a, p), b);
    assert.match(p, /^@@ -29998,7 \+29998,7 @@$/m);
  });
});
