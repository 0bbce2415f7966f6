// The view model every notification is rendered from (Slack Block Kit, e-mail, generic
// webhook): plain JSON data, one shape for all kinds so one template can serve several.

export type NotifyKind =
  | 'failure' | 'warning' | 'success' | 'recovery'
  | 'config-alert' | 'config-recovered' | 'digest' | 'storage' | 'prune-refused';

export type NotifySeverity = 'error' | 'warning' | 'ok' | 'info';

export interface NotifyField { label: string; value: string }

/** A titled list (failed VMs, overdue VMs, config errors …). */
export interface NotifySection { title: string; lines: string[] }

export interface NotifyView {
  kind: NotifyKind;
  severity: NotifySeverity;
  /** One line, plain text: the Slack header, the e-mail subject. */
  title: string;
  /** One sentence, plain text: Slack's notification fallback `text`, the webhook `text`. */
  summary: string;
  /** ISO-8601 time of the event (the run's end, or `now`). */
  time: string;
  /** `time` in settings.time_zone, for people. */
  timeText: string;
  fields: NotifyField[];
  sections: NotifySection[];
  /** Free text shown verbatim (a code block in Slack): the error message, warnings. */
  details?: string;
  vm?: string;
  hypervisor?: string;
  error?: string;
  revision?: string;
  /** Kind-specific facts, as numbers and strings, for templates and the generic webhook. */
  data: Record<string, unknown>;
}

export interface ViewOptions {
  now: Date;
  /** settings.time_zone; UTC when absent. */
  timeZone?: string;
}

/** Storage use above this percentage raises the storage alert (seed 000 §7.2). */
export const STORAGE_ALERT_PERCENT = 80;
