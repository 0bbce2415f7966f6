// The soak benchmark's figures: RSS after warm-up (p50, max), its trend over the second half as a
// least-squares slope (MB per 100 passes), and PASS/FAIL lines against the issue's targets.
export interface RssSample { tMs: number; passes: number; rssKiB: number; heapUsedBytes?: number }

export interface SoakFigures {
  passes: number; samples: number; warmupPasses: number;
  rssStartMB: number; rssP50MB: number; rssMaxMB: number; slopeMBPer100: number;
  heapUsedP50MB?: number; heapUsedMaxMB?: number;
  statusCommits: number; selfTriggered: number; skippedOwnPush: number; triggers: Record<string, number>;
  wallSec: number; passesPerSec: number;
}

export const TARGET_MB = 150;
/** "No upward trend": under 1 MB per 100 passes (1,000 passes would add under 10 MB). */
export const SLOPE_MAX = 1;

const mb = (kib: number): number => kib / 1024;
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN; };

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0; let den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i]! - mx) * (ys[i]! - my); den += (xs[i]! - mx) ** 2; }
  return den === 0 ? 0 : num / den;
}

export function figures(samples: RssSample[], passes: number, extra: Pick<SoakFigures, 'statusCommits' | 'selfTriggered' | 'skippedOwnPush' | 'triggers' | 'wallSec'>): SoakFigures {
  const warmupPasses = Math.min(100, Math.floor(passes / 10));
  const steady = samples.filter((s) => s.passes >= warmupPasses);
  const half = samples.filter((s) => s.passes >= passes / 2);
  const heaps = steady.map((s) => s.heapUsedBytes).filter((h): h is number => h !== undefined).map((h) => h / 1048576);
  return {
    passes, samples: samples.length, warmupPasses,
    rssStartMB: mb(samples[0]?.rssKiB ?? 0),
    rssP50MB: mb(pct(steady.map((s) => s.rssKiB), 50)),
    rssMaxMB: mb(Math.max(...steady.map((s) => s.rssKiB))),
    slopeMBPer100: slope(half.map((s) => s.passes), half.map((s) => mb(s.rssKiB))) * 100,
    ...(heaps.length ? { heapUsedP50MB: pct(heaps, 50), heapUsedMaxMB: Math.max(...heaps) } : {}),
    ...extra,
    passesPerSec: passes / Math.max(1e-9, extra.wallSec),
  };
}

export interface Verdict { line: string; ok: boolean }

export function verdicts(f: SoakFigures): Verdict[] {
  return [
    { ok: f.rssMaxMB <= TARGET_MB, line: `steady-state RSS max ${f.rssMaxMB.toFixed(1)} MB (p50 ${f.rssP50MB.toFixed(1)}) <= ${TARGET_MB} MB` },
    { ok: Math.abs(f.slopeMBPer100) < SLOPE_MAX, line: `RSS trend over the second half ${f.slopeMBPer100.toFixed(2)} MB per 100 passes, |slope| < ${SLOPE_MAX}` },
    { ok: f.selfTriggered === 0, line: `${f.selfTriggered} passes triggered by the daemon's own push (${f.skippedOwnPush} own-push triggers skipped: branch had not moved)` },
    { ok: f.statusCommits <= 1, line: `${f.statusCommits} status commits pushed (the first pass's only)` },
  ];
}

export function printReport(f: SoakFigures, o: { vms: number; hosts: number; pollSec: number; nodeOptions: string }): void {
  const w = (s: string): void => { process.stdout.write(s + '\n'); };
  w(`vmbackup daemon soak: ${o.vms} VMs on ${o.hosts} hypervisors (1 unreachable), poll ${o.pollSec} s, status pushed to a local bare remote${o.nodeOptions ? `, NODE_OPTIONS=${o.nodeOptions}` : ''}`);
  w(`  ${f.passes} reconciles in ${f.wallSec.toFixed(0)} s (${f.passesPerSec.toFixed(2)}/s), ${f.samples} RSS samples (1/s), warm-up ${f.warmupPasses} passes`);
  w(`  RSS: first sample ${f.rssStartMB.toFixed(1)} MB; after warm-up p50 ${f.rssP50MB.toFixed(1)} MB, max ${f.rssMaxMB.toFixed(1)} MB; second-half slope ${f.slopeMBPer100.toFixed(2)} MB/100 passes`);
  if (f.heapUsedP50MB !== undefined) w(`  V8 heap used (nodejs_heap_size_used_bytes): p50 ${f.heapUsedP50MB.toFixed(1)} MB, max ${f.heapUsedMaxMB!.toFixed(1)} MB`);
  w(`  triggers (vmbackup_reconcile_triggers_total): ${Object.entries(f.triggers).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}`);
  for (const v of verdicts(f)) w(`${v.ok ? 'PASS' : 'FAIL'}: ${v.line}`);
}
