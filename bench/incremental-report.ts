// The figures of bench/incremental.ts: the targets (bytes written ≤ 1.05 × the changed clusters +
// 1 MiB for every incremental; vmbackup's median wall time ≤ virtnbdbackup's per step) and the
// text report, with vmbackup's own step durations so a missed time target shows where time went.
import { formatBytes } from '../src/core/notify-format.js';
import { median, MiB } from './backup-exec.js';
import type { Measure } from './incremental-run.js';

export interface StepResult {
  step: string; round: number; writes: number; writtenBytes: number;
  /** What was rewritten, rounded up to 64 KiB clusters. */
  changedBytes: number;
  vmbackup: Measure; virtnbdbackup: Measure; order: string[];
}

export interface Target {
  step: string; samples: number;
  bytes: { worst: number; limitOfWorst: number; result: 'PASS' | 'FAIL' };
  time: { vmbackupMedianMs: number; virtnbdbackupMedianMs: number; ratio: number; result: 'PASS' | 'FAIL' };
  /** Wall plus the fsync of the output afterwards (virtnbdbackup does not sync): for information. */
  durable: { vmbackupMedianMs: number; virtnbdbackupMedianMs: number };
}

export const bytesLimit = (changed: number): number => 1.05 * changed + MiB;

export function targets(labels: readonly string[], steps: readonly StepResult[]): Target[] {
  return labels.map((step) => {
    const ss = steps.filter((s) => s.step === step);
    const worst = ss.reduce((w, s) => (s.vmbackup.bytesWritten - bytesLimit(s.changedBytes) > w.vmbackup.bytesWritten - bytesLimit(w.changedBytes) ? s : w), ss[0]!);
    const v = median(ss.map((s) => s.vmbackup.wallMs));
    const n = median(ss.map((s) => s.virtnbdbackup.wallMs));
    return {
      step, samples: ss.length,
      bytes: { worst: worst.vmbackup.bytesWritten, limitOfWorst: Math.floor(bytesLimit(worst.changedBytes)), result: worst.vmbackup.bytesWritten <= bytesLimit(worst.changedBytes) ? 'PASS' : 'FAIL' },
      time: { vmbackupMedianMs: Math.round(v), virtnbdbackupMedianMs: Math.round(n), ratio: +(v / n).toFixed(3), result: v <= n ? 'PASS' : 'FAIL' },
      durable: {
        vmbackupMedianMs: Math.round(median(ss.map((s) => s.vmbackup.wallMs + s.vmbackup.syncMs))),
        virtnbdbackupMedianMs: Math.round(median(ss.map((s) => s.virtnbdbackup.wallMs + s.virtnbdbackup.syncMs))),
      },
    };
  });
}

const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export function report(full: { vmbackup: Measure; virtnbdbackup: Measure }, steps: readonly StepResult[], tg: readonly Target[], head: string, cps: Record<string, string[]>): void {
  const p = (s = ''): boolean => process.stdout.write(s + '\n');
  const rows: string[][] = [['point', 'changed (64 KiB clusters)', 'contender', 'wall', '+ fsync after', 'bytes written (allocated)', 'image / data file', 'qemu-img map data']];
  const add = (point: string, changed: number | undefined, n: string, m: Measure): void => {
    rows.push([point, changed === undefined ? '-' : `${changed} (${formatBytes(changed)})`, n, sec(m.wallMs), sec(m.syncMs), `${m.bytesWritten} (${formatBytes(m.bytesWritten)})`,
      `${m.dataFileBytes} (${formatBytes(m.dataFileBytes)})`, m.mapDataBytes === undefined ? '-' : String(m.mapDataBytes)]);
  };
  add('full', undefined, 'vmbackup', full.vmbackup);
  add('full', undefined, 'virtnbdbackup', full.virtnbdbackup);
  for (const s of steps) for (const n of ['vmbackup', 'virtnbdbackup'] as const) add(`inc ${s.step} #${s.round}`, s.changedBytes, n, s[n]);
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  p(`\nvmbackup incremental benchmark: ${head}`);
  p(`order (first to run): ${steps.map((s) => `${s.step} #${s.round} ${s.order[0]}`).join('; ')}\n`);
  for (const [i, r] of rows.entries()) {
    p(r.map((c, j) => c.padEnd(w[j]!)).join('  ').trimEnd());
    if (i === 0) p(w.map((n) => '-'.repeat(n)).join('  '));
  }
  p('\ntargets (vmbackup; bytes: the worst incremental of the step; time: medians over the rounds):');
  for (const t of tg) {
    p(`  ${t.bytes.result} bytes ${t.step}: ${t.bytes.worst} ≤ 1.05 × changed + 1 MiB = ${t.bytes.limitOfWorst}`);
    p(`  ${t.time.result} time  ${t.step}: vmbackup ${sec(t.time.vmbackupMedianMs)} ≤ virtnbdbackup ${sec(t.time.virtnbdbackupMedianMs)} (${t.time.ratio}x; n=${t.samples})`
      + `; with the fsync after: ${sec(t.durable.vmbackupMedianMs)} vs ${sec(t.durable.virtnbdbackupMedianMs)}`);
  }
  p('\nvmbackup per point (ms): wall − total_ms = start-up + what follows the manifest (post-checks, publish, checkpoint tidying, exit); durations_ms from the manifest; steps from the log, startup/after-publish/exit from its clocks:');
  for (const [n, m] of [['full', full.vmbackup] as const, ...steps.map((s) => [`inc ${s.step} #${s.round}`, s.vmbackup] as const)]) {
    const total = m.durations?.total_ms;
    p(`  ${n.padEnd(11)} wall−total=${total === undefined ? '-' : Math.round(m.wallMs - total)} ${Object.entries(m.durations ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    if (m.steps && Object.keys(m.steps).length) p(`  ${''.padEnd(11)} ${Object.entries(m.steps).map(([k, v]) => `${k}=${Math.round(v)}`).join(' ')}`);
  }
  const ver = [{ step: 'full', round: 0, vmbackup: full.vmbackup, virtnbdbackup: full.virtnbdbackup }, ...steps];
  if (ver.some((s) => s.vmbackup.verified || s.virtnbdbackup.verified)) {
    p('\nverified (untimed):');
    for (const s of ver) for (const n of ['vmbackup', 'virtnbdbackup'] as const) if (s[n].verified) p(`  ${s.step}${s.round ? ` #${s.round}` : ''} ${n}: ${s[n].verified}`);
  }
  p(`\ncheckpoints at the end: vmbackup ${cps.vmbackup!.join(', ')}; virtnbdbackup ${cps.virtnbdbackup!.join(', ')}`);
}
