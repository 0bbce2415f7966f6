// Where plan's time and memory go, phase by phase, in one process: the same calls as
// src/cli/plan.ts, timed separately (load both revisions, status files, render both, plan
// without the rendered-file diff, the rendered-file diff alone, JSON).
//
//   node --expose-gc dist/bench/plan-phases.js REPO [BASE_REV] [HEAD_REV] [NOW]
//
// (Generate a repo with `node dist/bench/policy-repo.js --runs 1 --keep`; it prints the path.)
import { loadSnapshot, readRecordedRestorePoints } from '../src/app/policy-source.js';
import { planPolicyChange } from '../src/core/policy-diff.js';
import { renderAll } from '../src/core/render.js';

const [repo, baseRev = 'HEAD~1', headRev = 'HEAD', now = '2026-12-01T06:00:00Z'] = process.argv.slice(2);
if (!repo) throw new Error('usage: plan-phases.js REPO [BASE_REV] [HEAD_REV] [NOW]');
const gc = (globalThis as { gc?: () => void }).gc;
const mib = (n: number): string => `${(n / 1048576).toFixed(0)} MiB`;
let t = performance.now();
function mark(phase: string): void {
  const x = performance.now();
  const m = process.memoryUsage();
  process.stdout.write(`${phase.padEnd(28)} ${(x - t).toFixed(0).padStart(6)} ms   rss ${mib(m.rss).padStart(8)}   heap used ${mib(m.heapUsed).padStart(8)}   peak rss so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);
  t = performance.now();
}

mark('start-up (imports)');
const [base, head] = await Promise.all([loadSnapshot(repo, baseRev), loadSnapshot(repo, headRev)]);
mark('load both revisions');
const points = await readRecordedRestorePoints(repo, head.load.desired.settings.statusPath);
mark(`status files (${points.size})`);
const rb = renderAll(base.load.desired, base.templates);
const rh = renderAll(head.load.desired, head.templates);
mark('render both');
const input = (withRendered: boolean): Parameters<typeof planPolicyChange>[0] => ({
  base: { label: baseRev, desired: base.load.desired, rendered: withRendered ? rb : [] },
  head: { label: headRev, desired: head.load.desired, rendered: withRendered ? rh : [] },
  restorePoints: points,
  now,
});
planPolicyChange(input(false));
mark('plan without rendered diff');
gc?.();
mark('(gc)');
const plan = planPolicyChange(input(true));
mark('plan with rendered diff');
const json = JSON.stringify(plan, null, 2);
mark(`JSON (${mib(json.length)})`);
process.stdout.write(`rendered: ${rh.map((f) => `${f.path} ${mib(f.content.length)}`).join(', ')}; diff patches ${plan.renderDiff.map((d) => `${d.path} ${(d.patch.length / 1024).toFixed(0)} KiB`).join(', ')}\n`);
