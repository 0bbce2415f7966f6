import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every diagnostic code in src/ is documented in docs/errors.md, and no stale ones remain', () => {
  const used = new Set(sources(join(ROOT, 'src')).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/'(VMB_[A-Z_]+)'/g)].map((m) => m[1]!)));
  const documented = new Set([...readFileSync(join(ROOT, 'docs/errors.md'), 'utf8').matchAll(/^\| `(VMB_[A-Z_]+)`/gm)].map((m) => m[1]!));
  assert.deepEqual([...used].sort(), [...documented].sort());
});
