// One measured commit of bench/daemon-latency.ts: send the signed webhook, poll the two external
// observables (state.json, /metrics) until both name the commit, read the daemon's log milestones,
// then time the baseline (git fetch + validate + render as separate processes) while it is idle.
import { join } from 'node:path';
import { metricsRevision, readState, webhook, type Daemon, type LogEvent } from './daemon-proc.js';
import type { Repos } from './daemon-repo.js';
import type { Sample } from './daemon-report.js';

export interface Ctx {
  daemon: Daemon;
  cli: string;
  work: string;
  repos: Repos;
  pollMs: number;
  baseline: boolean;
  run: (argv: string[], cwd?: string) => Promise<{ ms: number }>;
}

const TIMEOUT_MS = 60_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Epoch ms with sub-ms resolution, comparable with pino's `time` (same machine clock). */
const now = (): number => performance.timeOrigin + performance.now();

function milestones(events: readonly LogEvent[], from: number, sha: string, t0: number): Partial<Sample> & { cycles: number } {
  const ev = events.slice(from);
  const start = ev.find((e) => e.msg === 'reconcile' && Array.isArray(e.reasons) && (e.reasons as string[]).some((r) => r.startsWith(`webhook ${sha.slice(0, 12)}`)));
  const written = ev.find((e) => e.msg === 'configuration applied' && e.revision === sha);
  const startIdx = start ? ev.indexOf(start) : 0;
  const plan = ev.slice(startIdx).find((e) => e.msg === 'plan');
  const done = ev.find((e) => e.msg === 'reconcile done' && e.revision === sha);
  const rel = (e: LogEvent | undefined): number | undefined => (e ? e.time - t0 : undefined);
  return {
    ...(start ? { cycleStartMs: rel(start)! } : {}), ...(written ? { configWrittenMs: rel(written)!, reloaded: written.reloaded === true } : {}),
    ...(plan ? { planLoggedMs: rel(plan)! } : {}), ...(done ? { cycleDoneMs: rel(done)!, cycleMs: Number(done.ms), actions: Number(done.actions) } : {}),
    cycles: ev.filter((e) => e.msg === 'reconcile done').length,
  };
}

export async function measureCommit(c: Ctx, i: number, kind: Sample['kind'], pushed: { sha: string; pushMs: number }): Promise<Sample> {
  const { sha } = pushed;
  const d = c.daemon;
  const from = d.events.length;
  const t0 = now();
  const status = await webhook(d.url, sha);
  const webhookMs = now() - t0;
  if (status !== 202) throw new Error(`POST /hooks/git answered ${status}`);
  let appliedMs: number | undefined;
  let reconciledMs: number | undefined;
  while (reconciledMs === undefined) {
    if (now() - t0 > TIMEOUT_MS) throw new Error(`commit ${sha.slice(0, 12)} not ${appliedMs === undefined ? 'applied' : 'reconciled'} within ${TIMEOUT_MS} ms; see ${join(c.work, 'daemon.log')}`);
    if (d.child.exitCode !== null) throw new Error(`the daemon exited ${d.child.exitCode}; see ${join(c.work, 'daemon.log')}`);
    if (appliedMs === undefined) {
      const st = readState(d.stateDir);
      if (st?.lastAppliedRevision === sha) appliedMs = now() - t0;
      else if (st?.lastAttemptedRevision === sha && st.lastAttemptErrors.length) throw new Error(`commit ${sha.slice(0, 12)} was refused: ${st.lastAttemptErrors.join('; ')}`);
    }
    if (appliedMs !== undefined && (await metricsRevision(d.url)) === sha) { reconciledMs = now() - t0; break; }
    await sleep(c.pollMs);
  }
  // The log line comes right after the metric is set; give it a moment to arrive.
  for (let k = 0; k < 200 && !d.events.slice(from).some((e) => e.msg === 'reconcile done' && e.revision === sha); k++) await sleep(10);
  const m = milestones(d.events, from, sha, t0);
  const s: Sample = { i, kind, sha, pushMs: pushed.pushMs, webhookMs, appliedMs: appliedMs!, reconciledMs, ...m };
  if (c.baseline) {
    const b = c.repos.baseline;
    const fetch = await c.run(['git', '-C', b, 'fetch', '-q', '--prune', '--no-tags', 'origin', '+refs/heads/main:refs/remotes/origin/main']);
    const reset = await c.run(['git', '-C', b, 'reset', '-q', '--hard', 'refs/remotes/origin/main']);
    const validate = await c.run([process.execPath, c.cli, 'validate', '--repo', b]);
    const render = await c.run([process.execPath, c.cli, 'render', '--repo', b, '--rev', sha, '--out', join(c.work, 'baseline-out')]);
    const fetchMs = fetch.ms + reset.ms;
    s.baseline = { fetchMs, validateMs: validate.ms, renderMs: render.ms, totalMs: fetchMs + validate.ms + render.ms };
  }
  return s;
}
