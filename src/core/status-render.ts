// Renders everything the daemon writes back under `status/` from plain status data: pure and
// deterministic (sorted, fixed key order, no clock but the `now` passed in), so an unchanged
// fleet renders byte-identical files and the writer makes no commit.
import type { FleetSummary, VmStatus } from './status-model.js';
import { checkStatusDir, vmOfStatusPath, vmStatusPath } from './status-paths.js';
import { renderReadme } from './status-readme.js';
import { byString, renderSummaryYaml, renderVmYaml } from './status-yaml.js';

export interface StatusRenderOptions {
  /** settings.statusPath; default `status`. */
  statusPath?: string;
  /** settings.timeZone, for the calendar's days and the README's times; default UTC. */
  timeZone?: string;
  /** Calendar length; default 30. */
  days?: number;
  /** Paths (relative to the repo) of the status files present now, so stale VM files can be deleted. */
  existing?: Iterable<string>;
}

export interface RenderedStatus {
  /** Path under the repo → content, in path order. */
  files: Map<string, string>;
  /** `status/vms/<vm>.yaml` files to remove: VMs neither reported any more nor listed as missing. */
  deletions: string[];
}

export function renderStatusFiles(statuses: VmStatus[], summary: FleetSummary, now: string, opts: StatusRenderOptions = {}): RenderedStatus {
  const statusPath = checkStatusDir(opts.statusPath ?? 'status');
  if (Number.isNaN(Date.parse(now))) throw new Error(`invalid time ${JSON.stringify(now)}`);
  const seen = new Set<string>();
  for (const s of statuses) {
    if (seen.has(s.vm)) throw new Error(`VM ${s.vm} is reported twice`);
    seen.add(s.vm);
  }
  const sorted = [...statuses].sort((a, b) => byString(a.vm, b.vm));
  const entries: [string, string][] = sorted.map((s) => [vmStatusPath(s.vm, statusPath), renderVmYaml(s)]);
  entries.push([`${statusPath}/summary.yaml`, renderSummaryYaml(summary, sorted)]);
  entries.push([`${statusPath}/README.md`, renderReadme(sorted, summary, now, { timeZone: opts.timeZone ?? 'UTC', days: opts.days ?? 30 })]);
  entries.sort((a, b) => byString(a[0], b[0]));
  // A VM that disappeared from libvirt stays listed as missing (its file is kept so its restore
  // points stay visible); only once it has left the summary too is its file removed.
  const keep = new Set([...seen, ...summary.missing]);
  const deletions = [...new Set(opts.existing ?? [])]
    .filter((p) => {
      const vm = vmOfStatusPath(p, statusPath);
      return vm !== undefined && !keep.has(vm);
    })
    .sort(byString);
  return { files: new Map(entries), deletions };
}

/** `status: 41 ok, 1 failed, 2 overdue [skip ci]` — counts first so the git log reads as a history. */
export function statusCommitMessage(summary: FleetSummary): string {
  const t = summary.totals;
  const extra = [
    t.unknown ? `${t.unknown} unknown` : '',
    t.missing ? `${t.missing} missing` : '',
    t.unprotected ? `${t.unprotected} unprotected` : '',
  ].filter(Boolean);
  return `status: ${[`${t.ready} ok`, `${t.failed} failed`, `${t.overdue} overdue`, ...extra].join(', ')} [skip ci]`;
}
