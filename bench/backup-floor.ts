// The floor for vmbackup's copy step, as a child process of bench/backup-paths.ts:
// `qemu-img convert` with the engine's exact arguments, then the engine's own sha256File on the
// result — no CLI, no policy, no snapshot or commit. What vmbackup cannot avoid given its design
// (copy, then hash the written file); the gap above it is orchestration.
//
//   node dist/bench/backup-floor.js SRC DST [convert options...]   → one JSON line on stdout
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { sha256File } from '../src/adapters/storage/hash.js';

const [src, dst, ...extra] = process.argv.slice(2);
if (!src || !dst) {
  process.stderr.write('usage: node dist/bench/backup-floor.js SRC DST [convert options...]\n');
  process.exit(2);
}
const t0 = performance.now();
const code = await new Promise<number | null>((res, rej) => {
  // Same argv as src/adapters/libvirt/qemu-img.ts convert() without compression.
  const c = spawn('qemu-img', ['convert', '-f', 'qcow2', '-O', 'qcow2', ...extra, '-m', '8', src, dst], { stdio: ['ignore', 'inherit', 'inherit'] });
  c.once('error', rej);
  c.once('exit', res);
});
if (code !== 0) {
  process.stderr.write(`qemu-img convert exited ${code}\n`);
  process.exit(1);
}
const t1 = performance.now();
const h = await sha256File(dst);
const t2 = performance.now();
process.stdout.write(JSON.stringify({ convertMs: t1 - t0, hashMs: t2 - t1, sha256: h.sha256, bytes: h.bytes }) + '\n');
