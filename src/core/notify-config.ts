// Config events → notification views: a revision that was not applied (invalid or untrusted)
// and a revision that applies again after a broken one. Pure.
import type { Diagnostic } from './model.js';
import { capLines, formatProblem, formatTime, shortRev } from './notify-format.js';
import type { NotifyView, ViewOptions } from './notify-view.js';

/** Most error lines a config alert lists; the rest are counted. */
export const MAX_CONFIG_ERRORS = 25;

export interface ConfigAlertInput {
  revision: string;
  /** `invalid`: validation failed; `untrusted`: signature/author check failed. */
  reason: 'invalid' | 'untrusted';
  /** Diagnostics (rendered `file:line:col: message`) or ready-made lines. */
  errors: readonly (Diagnostic | string)[];
  /** The revision still in force, if any. */
  appliedRevision?: string;
}

export interface ConfigRecoveredInput {
  revision: string;
  /** The last broken revision, and when it was first seen. */
  failedRevision?: string;
  failedSince?: string;
}

export function configAlertView(a: ConfigAlertInput, o: ViewOptions): NotifyView {
  const time = o.now.toISOString();
  const timeText = formatTime(time, o.timeZone);
  const all = a.errors
    .filter((e) => typeof e === 'string' || e.severity === 'error')
    .map(formatProblem);
  const lines = capLines(all, MAX_CONFIG_ERRORS);
  const rev = shortRev(a.revision);
  const why = a.reason === 'invalid' ? `${all.length} error(s)` : 'it is not trusted';
  const kept = a.appliedRevision ? `still running ${shortRev(a.appliedRevision)}` : 'nothing applied yet';
  return {
    kind: 'config-alert', severity: 'error', time, timeText, revision: a.revision,
    title: `Config revision ${rev} not applied`,
    summary: `Policy revision ${rev} was not applied because ${why}; ${kept}`,
    fields: [
      { label: 'Revision', value: rev },
      { label: 'Reason', value: a.reason },
      { label: 'Errors', value: String(all.length) },
      { label: 'In force', value: a.appliedRevision ? shortRev(a.appliedRevision) : 'none' },
      { label: 'Time', value: timeText },
    ],
    sections: lines.length ? [{ title: 'Errors', lines }] : [],
    details: lines.join('\n'),
    data: { reason: a.reason, errorCount: all.length, errors: all, ...(a.appliedRevision ? { appliedRevision: a.appliedRevision } : {}) },
  };
}

export function configRecoveredView(r: ConfigRecoveredInput, o: ViewOptions): NotifyView {
  const time = o.now.toISOString();
  const timeText = formatTime(time, o.timeZone);
  const rev = shortRev(r.revision);
  const fields = [{ label: 'Revision', value: rev }, { label: 'Time', value: timeText }];
  if (r.failedRevision) fields.push({ label: 'Replaces broken', value: shortRev(r.failedRevision) });
  if (r.failedSince) fields.push({ label: 'Broken since', value: formatTime(r.failedSince, o.timeZone) });
  return {
    kind: 'config-recovered', severity: 'ok', time, timeText, revision: r.revision, fields, sections: [],
    title: `Recovered: config revision ${rev} applied`,
    summary: `Policy revision ${rev} applied cleanly${r.failedRevision ? ` after broken revision ${shortRev(r.failedRevision)}` : ''}`,
    data: { subject: 'config', ...(r.failedRevision ? { failedRevision: r.failedRevision } : {}), ...(r.failedSince ? { failedSince: r.failedSince } : {}) },
  };
}
