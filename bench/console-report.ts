// Figures of bench/console.ts: nearest-rank p50/p95/p99 and requests/s per route, the SSE fan-out,
// the daemon's RSS, the targets' PASS/FAIL lines and the text table.
import type { FanoutRound, LoadResult } from './console-load.js';

export interface RouteFigures { label: string; n: number; errors: number; rps: number; p50: number; p95: number; p99: number; max: number; firstError?: string }

export const TARGETS = { fleetP99Ms: 250, uiP99Ms: 400, fanoutMs: 100, rssGrowthMB: 30 } as const;

/** Nearest rank, no interpolation. */
export function pct(sorted: readonly number[], p: number): number {
  return sorted.length ? sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]! : Number.NaN;
}

export function routeFigures(label: string, r: LoadResult): RouteFigures {
  const s = [...r.latenciesMs].sort((a, b) => a - b);
  return { label, n: s.length, errors: r.errors, rps: s.length / (r.wallMs / 1000), p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), max: s.at(-1) ?? Number.NaN, ...(r.firstError ? { firstError: r.firstError } : {}) };
}

export interface ConsoleFigures {
  routes: RouteFigures[];
  fanout: FanoutRound[];
  rssBeforeMB: number;
  rssAfterMB: number;
  rssPeakMB: number;
}

export interface Verdict { line: string; ok: boolean }

export function verdicts(f: ConsoleFigures): Verdict[] {
  const by = (l: string): RouteFigures | undefined => f.routes.find((r) => r.label.startsWith(l));
  const fleet = by('GET /api/v1/fleet');
  const ui = by('GET /ui/ ');
  const worst = Math.max(...f.fanout.map((r) => r.allSeenMs));
  const growth = f.rssAfterMB - f.rssBeforeMB;
  const errs = f.routes.reduce((n, r) => n + r.errors, 0);
  return [
    { line: `fleet API p99 ${fleet?.p99.toFixed(1)} ms <= ${TARGETS.fleetP99Ms} ms`, ok: !!fleet && fleet.p99 <= TARGETS.fleetP99Ms },
    { line: `/ui/ p99 ${ui?.p99.toFixed(1)} ms <= ${TARGETS.uiP99Ms} ms`, ok: !!ui && ui.p99 <= TARGETS.uiP99Ms },
    { line: `SSE fan-out (all ${f.fanout[0]?.streams ?? 0} streams saw the action, worst of ${f.fanout.length}) ${worst.toFixed(1)} ms <= ${TARGETS.fanoutMs} ms`, ok: worst <= TARGETS.fanoutMs },
    { line: `RSS growth ${growth.toFixed(1)} MB (${f.rssBeforeMB.toFixed(1)} -> ${f.rssAfterMB.toFixed(1)} MB, peak ${f.rssPeakMB.toFixed(1)}) <= ${TARGETS.rssGrowthMB} MB`, ok: growth <= TARGETS.rssGrowthMB },
    { line: `every answer 200 (${errs} not)`, ok: errs === 0 },
  ];
}

function table(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]): string => '| ' + c.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join(' | ') + ' |';
  return [line(head), '|' + w.map((x, i) => (i === 0 ? ':' + '-'.repeat(x + 1) : '-'.repeat(x + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

export function printReport(f: ConsoleFigures, title: string, concurrency: number, notes: string[]): void {
  const w = (s: string): void => { process.stdout.write(s); };
  const ms = (x: number): string => x.toFixed(1);
  w(`\n${title}\n\n`);
  w(table([`route (concurrency ${concurrency})`, 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'non-200'],
    f.routes.map((r) => [r.label, String(r.n), r.rps.toFixed(0), ms(r.p50), ms(r.p95), ms(r.p99), ms(r.max), String(r.errors)])) + '\n\n');
  const acc = [...f.fanout.map((r) => r.acceptedMs)].sort((a, b) => a - b);
  const first = [...f.fanout.map((r) => r.firstSeenMs)].sort((a, b) => a - b);
  const all = [...f.fanout.map((r) => r.allSeenMs)].sort((a, b) => a - b);
  w(table([`SSE fan-out, ms after the POST (${f.fanout.length} actions)`, 'p50', 'max'], [
    ['202 answer', ms(pct(acc, 50)), ms(acc.at(-1)!)],
    ['first stream saw the action', ms(pct(first, 50)), ms(first.at(-1)!)],
    [`all ${f.fanout[0]?.streams ?? 0} streams saw it`, ms(pct(all, 50)), ms(all.at(-1)!)],
  ]) + '\n\n');
  for (const r of f.routes) if (r.firstError) w(`${r.label}: first error: ${r.firstError}\n`);
  for (const v of verdicts(f)) w(`${v.ok ? 'PASS' : 'FAIL'}  ${v.line}\n`);
  for (const n of notes) w(`${n}\n`);
}
