// The benchmark floor: read every policy YAML file of one or more directories and YAML.parse
// it, nothing else. `--status DIR` also parses the *.yaml files directly in DIR (plan reads the
// recorded restore points too). Deliberately imports nothing from src/ so that its start-up cost
// is node + the yaml package only.
//
//   node dist/bench/floor.js REPO [REPO2 ...] [--status REPO/status/vms]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';

/** Same selection as core/load.ts isPolicyPath: *.yaml|*.yml outside status/, templates/ and hidden dirs. */
function policyFiles(root: string): string[] {
  const out: string[] = [];
  for (const rel of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    const p = rel.split('\\').join('/');
    if (!/\.ya?ml$/i.test(p)) continue;
    const parts = p.split('/');
    if (parts.some((x) => x.startsWith('.')) || parts[0] === 'templates' || parts[0] === 'status' || parts.includes('node_modules')) continue;
    out.push(join(root, rel));
  }
  return out.sort();
}

const args = process.argv.slice(2);
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--status') {
    const dir = args[++i];
    if (!dir) throw new Error('--status needs a directory');
    files.push(...readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => join(dir, n)));
  } else {
    files.push(...policyFiles(a));
  }
}
let items = 0;
for (const f of files) {
  const v = YAML.parse(readFileSync(f, 'utf8')) as unknown;
  if (v && typeof v === 'object') items += Object.keys(v).length;
}
process.stdout.write(`parsed ${files.length} files (${items} top-level keys)\n`);
