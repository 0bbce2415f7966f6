// Keeps the house honest: the functional core imports nothing of the shell, ports only the core,
// adapters never the engine/daemon/app/cli, the engine never the daemon/app/cli, and nothing but
// the composition root (main.ts) imports the CLI. A wrong-way import fails here with its line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { SRC } from '../helpers/paths.js';

/** Which top-level folders of src/ each folder may import. */
const ALLOWED: Record<string, string[]> = {
  core: ['core', 'schema'],
  schema: ['schema', 'core'],
  ports: ['ports', 'core'],
  adapters: ['adapters', 'core', 'ports', 'schema', 'version.ts'],
  engine: ['engine', 'core', 'ports', 'adapters', 'version.ts'],
  daemon: ['daemon', 'core', 'ports', 'adapters', 'engine', 'version.ts'],
  app: ['app', 'core', 'ports', 'adapters', 'engine', 'daemon', 'schema', 'version.ts'],
  cli: ['cli', 'app', 'core', 'version.ts'],
};
/** Node built-ins the pure core may use (path arithmetic only: no I/O, no clock, no processes). */
const CORE_BUILTINS = new Set(['node:path']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []));
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

test('imports point the right way (core ← ports ← adapters ← engine ← daemon ← app ← cli ← main)', () => {
  const bad: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const layer = rel.split('/')[0]!;
    const allowed = ALLOWED[layer];
    if (!allowed) continue; // main.ts, version.ts: the composition root may import anything
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      const line = text.slice(0, m.index).split('\n').length + (text[m.index] === '\n' ? 1 : 0);
      if (!spec.startsWith('.')) {
        if (layer === 'core' && spec.startsWith('node:') && !CORE_BUILTINS.has(spec)) bad.push(`src/${rel}:${line}: the core imports ${spec} (I/O belongs in the shell)`);
        continue;
      }
      const target = relative(SRC, resolve(dirname(file), spec)).split('/')[0]!.replace(/\.js$/, '.ts');
      if (target.startsWith('..')) continue; // schemas/*.json beside src
      if (!allowed.includes(target)) bad.push(`src/${rel}:${line}: ${layer} → ${target} (${spec})`);
    }
  }
  assert.deepEqual(bad, [], `wrong-way imports:\n${bad.join('\n')}`);
});
