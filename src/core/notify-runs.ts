// Run events → notification views: failure, warning, success, and recovery (a VM whose previous
// run of the same kind failed now succeeded). Pure: `now` and the time zone are parameters.
import type { RunRecord } from './run-record.js';
import { elapsedMs, formatBytes, formatDuration, formatTime, shortRev } from './notify-format.js';
import type { NotifyField, NotifyView, ViewOptions } from './notify-view.js';

const JOB_LABEL: Record<RunRecord['kind'], string> = {
  backup: 'Backup', verify: 'Verify', restore: 'Restore', 'test-restore': 'Test restore', cleanup: 'Cleanup',
};

/** What a finished run should announce, given the previous finished run of the same VM and kind. */
export function classifyRun(run: RunRecord, previous?: RunRecord): 'failure' | 'warning' | 'success' | 'recovery' {
  if (run.status === 'failed' || run.status === 'interrupted') return 'failure';
  if (previous && (previous.status === 'failed' || previous.status === 'interrupted')) return 'recovery';
  return run.warnings.length > 0 ? 'warning' : 'success';
}

/** The newest finished run of the same VM and kind that started before `run` (the run itself excluded). */
export function previousRun(runs: readonly RunRecord[], run: RunRecord): RunRecord | undefined {
  let best: RunRecord | undefined;
  for (const r of runs) {
    if (r.id === run.id || r.vm !== run.vm || r.kind !== run.kind || r.status === 'running') continue;
    if (r.started >= run.started) continue;
    if (!best || r.started > best.started) best = r;
  }
  return best;
}

function runFields(run: RunRecord, timeText: string): NotifyField[] {
  const f: NotifyField[] = [
    { label: 'VM', value: run.vm },
    { label: 'Hypervisor', value: run.hypervisor },
    { label: 'Job', value: run.kind },
    { label: 'Time', value: timeText },
  ];
  const ms = elapsedMs(run.started, run.finished);
  if (ms !== undefined) f.push({ label: 'Duration', value: formatDuration(ms) });
  if (run.sizeBytes !== undefined) f.push({ label: 'Size', value: formatBytes(run.sizeBytes) });
  if (run.backupId) f.push({ label: 'Backup', value: run.backupId });
  if (run.method) f.push({ label: 'Method', value: run.method });
  if (run.revision) f.push({ label: 'Config revision', value: shortRev(run.revision) });
  return f;
}

function runData(run: RunRecord): Record<string, unknown> {
  const failedStep = run.steps.find((s) => !s.ok);
  return {
    runId: run.id, job: run.kind, status: run.status, started: run.started,
    ...(run.finished ? { finished: run.finished } : {}),
    ...(elapsedMs(run.started, run.finished) !== undefined ? { durationMs: elapsedMs(run.started, run.finished) } : {}),
    ...(run.sizeBytes !== undefined ? { sizeBytes: run.sizeBytes } : {}),
    ...(run.backupId ? { backupId: run.backupId } : {}),
    ...(failedStep ? { failedStep: failedStep.name } : {}),
    warnings: [...run.warnings],
  };
}

function base(run: RunRecord, o: ViewOptions): Pick<NotifyView, 'time' | 'timeText' | 'vm' | 'hypervisor' | 'sections'> {
  const time = run.finished ?? o.now.toISOString();
  return { time, timeText: formatTime(time, o.timeZone), vm: run.vm, hypervisor: run.hypervisor, sections: [] };
}

export function failureView(run: RunRecord, o: ViewOptions): NotifyView {
  const b = base(run, o);
  const error = run.error ?? (run.status === 'interrupted' ? 'the run was interrupted' : 'unknown error');
  const failedStep = run.steps.find((s) => !s.ok);
  const fields = runFields(run, b.timeText);
  if (failedStep) fields.push({ label: 'Failed step', value: failedStep.name });
  return {
    ...b, kind: 'failure', severity: 'error', error, details: error, fields, data: runData(run),
    title: `${JOB_LABEL[run.kind]} failed: ${run.vm} on ${run.hypervisor}`,
    summary: `${JOB_LABEL[run.kind]} of ${run.vm} on ${run.hypervisor} failed at ${b.timeText}: ${error}`,
  };
}

export function warningView(run: RunRecord, o: ViewOptions): NotifyView {
  const b = base(run, o);
  return {
    ...b, kind: 'warning', severity: 'warning', fields: runFields(run, b.timeText), data: runData(run),
    details: run.warnings.join('\n'),
    title: `${JOB_LABEL[run.kind]} finished with warnings: ${run.vm}`,
    summary: `${JOB_LABEL[run.kind]} of ${run.vm} on ${run.hypervisor} succeeded with ${run.warnings.length} warning(s)`,
  };
}

export function successView(run: RunRecord, o: ViewOptions): NotifyView {
  const b = base(run, o);
  return {
    ...b, kind: 'success', severity: 'ok', fields: runFields(run, b.timeText), data: runData(run),
    title: `${JOB_LABEL[run.kind]} succeeded: ${run.vm}`,
    summary: `${JOB_LABEL[run.kind]} of ${run.vm} on ${run.hypervisor} succeeded at ${b.timeText}`,
  };
}

/** A VM is healthy again; `previous` (the failed or interrupted run) says since when and why it was not. */
export function recoveryView(run: RunRecord, previous: RunRecord | undefined, o: ViewOptions): NotifyView {
  const b = base(run, o);
  const fields = runFields(run, b.timeText);
  const since = previous?.finished ?? previous?.started;
  const interrupted = previous?.status === 'interrupted';
  if (interrupted) fields.push({ label: 'Interrupted run', value: previous.id }, { label: 'Interrupted at', value: formatTime(previous.started, o.timeZone) });
  else if (since) fields.push({ label: 'Failing since', value: formatTime(since, o.timeZone) });
  const after = interrupted ? `after the interrupted run ${previous.id} (${formatTime(previous.started, o.timeZone)})` : 'after a failure';
  return {
    ...b, kind: 'recovery', severity: 'ok', fields,
    ...(previous?.error ? { details: `previous ${interrupted ? 'interruption' : 'error'}: ${previous.error}` } : {}),
    data: { ...runData(run), subject: 'vm', ...(previous ? { previousRunId: previous.id, previousStatus: previous.status, previousStarted: previous.started, previousError: previous.error ?? null } : {}) },
    title: interrupted ? `Recovered from an interruption: ${run.vm} on ${run.hypervisor}` : `Recovered: ${run.vm} on ${run.hypervisor}`,
    summary: `${JOB_LABEL[run.kind]} of ${run.vm} on ${run.hypervisor} succeeded again ${after}`,
  };
}
