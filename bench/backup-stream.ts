// vmbackup's copy step alone, as a child process of bench/backup-paths.ts: `qemu-img map` of the
// source, then the engine's streaming qcow2 writer (copy + SHA-256 in one pass + fdatasync) — no
// CLI, no policy, no snapshot or commit. The gap between it and `vmbackup` is orchestration.
//
//   node dist/bench/backup-stream.js SRC DST   → one JSON line on stdout
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseQemuImgMap } from '../src/adapters/libvirt/parse.js';
import { writeQcow2 } from '../src/adapters/storage/qcow2-writer.js';

const [src, dst] = process.argv.slice(2);
if (!src || !dst) {
  process.stderr.write('usage: node dist/bench/backup-stream.js SRC DST\n');
  process.exit(2);
}
const t0 = performance.now();
const q = (args: string[]): string => {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  if (r.status !== 0) { process.stderr.write(`qemu-img ${args[0]}: ${r.stderr}`); process.exit(1); }
  return r.stdout;
};
const extents = parseQemuImgMap(q(['map', '-f', 'qcow2', '--output=json', src]));
const virtualSize = (JSON.parse(q(['info', '-f', 'qcow2', '--output=json', src])) as { 'virtual-size': number })['virtual-size'];
if (!extents) { process.stderr.write('source is not streamable\n'); process.exit(1); }
const t1 = performance.now();
const r = await writeQcow2({ source: src, extents, virtualSize, dest: dst });
const t2 = performance.now();
process.stdout.write(JSON.stringify({ mapMs: t1 - t0, streamMs: t2 - t1, sha256: r.sha256, bytes: r.bytes }) + '\n');
