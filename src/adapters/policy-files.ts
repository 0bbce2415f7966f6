// Reads a policy repo's YAML files from a working tree (the shell side of core/load.ts).
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isPolicyPath, type PolicyFileText } from '../core/load.js';

/** Every policy file under `dir`, paths relative and `/`-separated, sorted. */
export async function readPolicyFilesFromDir(dir: string, statusPath = 'status'): Promise<PolicyFileText[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const paths: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const rel = relative(dir, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).split(sep).join('/');
    if (rel.split('/').includes('node_modules')) continue;
    if (isPolicyPath(rel, statusPath)) paths.push(rel);
  }
  paths.sort();
  return Promise.all(paths.map(async (path) => ({ path, text: await readFile(join(dir, path), 'utf8') })));
}

/** The repo's own templates/ override, if present, as name → source. */
export async function readFilesUnder(dir: string, sub: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try { names = await readdir(join(dir, sub)); } catch { return out; }
  for (const n of names.sort()) out.set(n, await readFile(join(dir, sub, n), 'utf8'));
  return out;
}
