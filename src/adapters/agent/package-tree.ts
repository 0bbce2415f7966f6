// The running vmbackup's own package, as the installer ships it: package.json, dist/src, dist/schemas, schemas,
// templates and the production dependencies (resolved from package.json, not all of node_modules),
// hashed for the manifest and packed as one tar.gz (symlinks are skipped, never followed).
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, relative, sep } from 'node:path';
import { existsSync } from 'node:fs';
import { execa } from 'execa';

/** The package root: dist/src/adapters/agent → four levels up. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const SKIP = /(\.d\.ts|\.map|\.tsbuildinfo)$/;

async function walk(dir: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && !SKIP.test(e.name)) out.push(p);
  }
}

async function deps(dir: string): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
  return Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
}

/** Directories of the production dependency closure, found as Node resolves them (nearest node_modules up to the root). */
async function dependencyDirs(root: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue: string[] = [root];
  while (queue.length) {
    const from = queue.shift()!;
    for (const name of await deps(from)) {
      let d = from;
      let found: string | undefined;
      for (;;) {
        const c = join(d, 'node_modules', name);
        if (existsSync(join(c, 'package.json'))) { found = c; break; }
        if (d === root || !d.startsWith(root)) break;
        d = join(d, '..');
        while (d.split(sep).at(-1) === 'node_modules' || d.split(sep).at(-2) === 'node_modules' && d.split(sep).at(-1)!.startsWith('@')) d = join(d, '..');
      }
      if (!found) continue; // an optional dependency not installed here
      if (!seen.has(found)) { seen.add(found); queue.push(found); }
    }
  }
  return [...seen];
}

export interface PackageTree { root: string; files: { path: string; sha256: string }[] }

export async function packageTree(root = PACKAGE_ROOT): Promise<PackageTree> {
  const abs: string[] = [join(root, 'package.json')];
  for (const d of ['dist/src', 'dist/schemas', 'schemas', 'templates']) await walk(join(root, d), abs);
  for (const d of await dependencyDirs(root)) await walk(d, abs);
  const files = await Promise.all([...new Set(abs)].map(async (p) => ({ path: relative(root, p).split(sep).join('/'), sha256: createHash('sha256').update(await readFile(p)).digest('hex') })));
  return { root, files };
}

/** The files as a gzip'd tar, owned by root, group/other not writable. */
export async function packTree(t: PackageTree): Promise<Uint8Array> {
  const r = await execa('tar', ['-c', '-z', '-f', '-', '--owner=0', '--group=0', '--numeric-owner', '--mode=go-w', '--no-recursion', '-C', t.root, '--null', '-T', '-'], { input: t.files.map((f) => f.path).join('\0') + '\0', encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
  return r.stdout;
}
