// Figures of bench/daemon-latency.ts: nearest-rank percentiles of each milestone after the webhook,
// the baseline (git fetch + validate + render as separate processes), and the text report.
import { cpus } from 'node:os';

/** One measured commit; every time is in ms after the webhook POST was sent. */
export interface Sample {
  i: number;
  kind: 'schedule' | 'retention';
  sha: string;
  pushMs: number;
  webhookMs: number;
  /** The daemon's log: the cycle for this commit started / planned / finished. */
  cycleStartMs?: number;
  configWrittenMs?: number;
  /** Bacula mode: the director was reloaded by this commit's apply. */
  reloaded?: boolean;
  planLoggedMs?: number;
  cycleDoneMs?: number;
  /** The daemon's own `ms` for the cycle. */
  cycleMs?: number;
  /** state.json lastAppliedRevision === sha, seen by polling. */
  appliedMs: number;
  /** /metrics vmbackup_config_info{revision=sha}, seen by polling. */
  reconciledMs: number;
  cycles: number;
  actions?: number;
  baseline?: { fetchMs: number; validateMs: number; renderMs: number; totalMs: number };
}

export interface Stats { n: number; min: number; p50: number; p99: number; max: number; mean: number }

/** Nearest-rank percentile (no interpolation): with 20 samples p99 is the largest, p50 the 10th. */
export function stats(xs: readonly number[]): Stats | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p: number): number => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { n: s.length, min: r(s[0]!), p50: r(rank(50)), p99: r(rank(99)), max: r(s.at(-1)!), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

const pick = (samples: readonly Sample[], f: (s: Sample) => number | undefined): number[] => samples.map(f).filter((x): x is number => x !== undefined);

export function summarise(samples: readonly Sample[]): Record<string, Stats | undefined> {
  return {
    webhookResponse: stats(pick(samples, (s) => s.webhookMs)),
    cycleStart: stats(pick(samples, (s) => s.cycleStartMs)),
    applied: stats(pick(samples, (s) => s.appliedMs)),
    planLogged: stats(pick(samples, (s) => s.planLoggedMs)),
    cycleDone: stats(pick(samples, (s) => s.cycleDoneMs)),
    reconciled: stats(pick(samples, (s) => s.reconciledMs)),
    daemonCycleMs: stats(pick(samples, (s) => s.cycleMs)),
    appliedSchedule: stats(pick(samples.filter((s) => s.kind === 'schedule'), (s) => s.appliedMs)),
    appliedRetention: stats(pick(samples.filter((s) => s.kind === 'retention'), (s) => s.appliedMs)),
    reconciledSchedule: stats(pick(samples.filter((s) => s.kind === 'schedule'), (s) => s.reconciledMs)),
    reconciledRetention: stats(pick(samples.filter((s) => s.kind === 'retention'), (s) => s.reconciledMs)),
    baselineFetch: stats(pick(samples, (s) => s.baseline?.fetchMs)),
    baselineValidate: stats(pick(samples, (s) => s.baseline?.validateMs)),
    baselineRender: stats(pick(samples, (s) => s.baseline?.renderMs)),
    baselineTotal: stats(pick(samples, (s) => s.baseline?.totalMs)),
    push: stats(pick(samples, (s) => s.pushMs)),
  };
}

const ROWS: [string, string][] = [
  ['webhookResponse', 'POST /hooks/git answered (202)'],
  ['cycleStart', 'daemon log: cycle started ("reconcile")'],
  ['applied', 'APPLIED: state.json lastAppliedRevision = commit'],
  ['planLogged', 'daemon log: observed + planned ("plan")'],
  ['cycleDone', 'RECONCILED: daemon log: cycle finished ("reconcile done")'],
  ['reconciled', '/metrics vmbackup_config_info{revision} (set when applied)'],
  ['daemonCycleMs', '(daemon-reported cycle duration, ms)'],
  ['appliedSchedule', 'applied, schedule changes only'],
  ['appliedRetention', 'applied, retention changes only'],
  ['reconciledSchedule', 'reconciled, schedule changes only'],
  ['reconciledRetention', 'reconciled, retention changes only'],
  ['baselineFetch', 'baseline: git fetch + reset --hard'],
  ['baselineValidate', 'baseline: vmbackup validate'],
  ['baselineRender', 'baseline: vmbackup render --rev'],
  ['baselineTotal', 'baseline: the three, in sequence'],
  ['push', '(git push before the webhook, not counted)'],
];

export function table(sum: Record<string, Stats | undefined>): string {
  const head = ['ms after the webhook', 'n', 'min', 'p50', 'p99', 'max', 'mean'];
  const body = ROWS.filter(([k]) => sum[k]).map(([k, label]) => { const s = sum[k]!; return [label, String(s.n), ...[s.min, s.p50, s.p99, s.max, s.mean].map((x) => x.toFixed(0))]; });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]): string => '| ' + c.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join(' | ') + ' |';
  return [line(head), '|' + w.map((x, i) => (i === 0 ? ':' + '-'.repeat(x + 1) : '-'.repeat(x + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

export interface Verdict { targetMs: number; reconciledP99: number; appliedP99: number; reconciledPass: boolean; appliedPass: boolean }

export function verdict(sum: Record<string, Stats | undefined>, targetMs: number): Verdict {
  // The whole pass (fetch, apply, observe, plan, execute, status push) is the reconcile; the metric is set at apply.
  const rp = sum.cycleDone?.p99 ?? Infinity;
  const ap = sum.applied?.p99 ?? Infinity;
  return { targetMs, reconciledP99: rp, appliedP99: ap, reconciledPass: rp <= targetMs, appliedPass: ap <= targetMs };
}

export function printReport(title: string, sum: Record<string, Stats | undefined>, v: Verdict, notes: string[], load: { before: number[]; after: number[] }): void {
  const w = (s: string): void => { process.stdout.write(s); };
  w(`\n${title}\n\n${table(sum)}\n\n`);
  w(`target: the webhook reconciles the new commit within ${v.targetMs} ms (p99)\n`);
  w(`  reconciled (cycle finished, daemon log): p99 ${v.reconciledP99.toFixed(0)} ms: ${v.reconciledPass ? 'PASS' : 'FAIL'}\n`);
  w(`  applied (config in force, state.json): p99 ${v.appliedP99.toFixed(0)} ms: ${v.appliedPass ? 'PASS' : 'FAIL'}\n`);
  if (sum.baselineTotal && sum.cycleDone) w(`  reconciled p50 / baseline p50: ${(sum.cycleDone.p50 / sum.baselineTotal.p50).toFixed(2)}x; applied p50 / baseline p50: ${(sum.applied!.p50 / sum.baselineTotal.p50).toFixed(2)}x\n`);
  for (const n of notes) w(`${n}\n`);
  w(`load average before/after: ${load.before.map((x) => x.toFixed(2)).join(' ')} / ${load.after.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs${load.before[0]! > 0.5 || load.after[0]! > 1.5 ? ' (the machine was busy: times are noisy)' : ''}\n`);
}
