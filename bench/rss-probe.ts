// Preloaded into every timed child with `node --import <this file>`: at exit it writes the
// process's own peak resident set size (getrusage(2) ru_maxrss, via process.resourceUsage())
// and CPU times to the file named by VMB_BENCH_PROBE_OUT. Same preload on both sides, so its
// (tiny) cost cancels out of the ratios.
import { writeFileSync } from 'node:fs';

const out = process.env.VMB_BENCH_PROBE_OUT;
if (out) {
  delete process.env.VMB_BENCH_PROBE_OUT; // not inherited by anything the child spawns
  process.on('exit', (code) => {
    const r = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ maxRssKiB: r.maxRSS, userMs: r.userCPUTime / 1000, systemMs: r.systemCPUTime / 1000, exitCode: code, uptimeMs: process.uptime() * 1000 }));
  });
}
