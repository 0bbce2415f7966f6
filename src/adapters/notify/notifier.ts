// The Notifier the engine and daemon call: builds the view (core), drops repeats (core dedup),
// renders each configured channel's template and hands it to the async queue. Never throws
// into the caller and never waits for delivery.
import type { Logger } from 'pino';
import type { Settings } from '../../core/model.js';
import { pruneRefusedView, type PruneRefusedInput } from '../../core/notify-prune.js';
import { configAlertView, configRecoveredView, type ConfigAlertInput, type ConfigRecoveredInput } from '../../core/notify-config.js';
import { recordSent, shouldSend } from '../../core/notify-dedup.js';
import { digestView, storageView, type PrunedSinceDigest } from '../../core/notify-digest.js';
import type { AuditEntry } from '../../core/audit/entry.js';
import { classifyRun, failureView, recoveryView, successView, warningView } from '../../core/notify-runs.js';
import type { NotifyKind, NotifyView, ViewOptions } from '../../core/notify-view.js';
import type { FleetSummary, VmStatus } from '../../core/status-model.js';
import type { Notifier } from '../../ports/notifier.js';
import type { RunRecord } from '../store/state-store.js';
import { defaultVault } from '../secrets/default-vault.js';
import type { SecretVault } from '../secrets/vault.js';
import { resolveChannels, type Channels, type PlaintextAllowance } from './channels.js';
import { Mailer, type MailerTls } from './email.js';
import { postJson } from './http.js';
import { NotificationQueue, type RetryPolicy } from './queue.js';
import type { ReadSecretFile } from './secrets.js';
import { memoryDedup, type DedupStore } from './state.js';
import { loadNotifyTemplates, NOTIFY_TEMPLATES, slackTemplateFor, type NotifyTemplates } from './templates.js';

export type ChannelName = 'slack-failure' | 'slack-digest' | 'email' | 'webhook';

/** Slack failure webhook: failures and alerts; Slack digest webhook (else the failure one): the digest; e-mail and webhook: everything. */
export function routesFor(kind: NotifyKind, c: Channels): ChannelName[] {
  const r: ChannelName[] = [];
  if (kind === 'digest') {
    if (c.slackDigest) r.push('slack-digest');
    else if (c.slackFailure) r.push('slack-failure');
  } else if (c.slackFailure && slackTemplateFor(kind)) r.push('slack-failure');
  if (c.email) r.push('email');
  if (c.webhook) r.push('webhook');
  return r;
}

export type RecoveryInput = { run: RunRecord; previous?: RunRecord } | ConfigRecoveredInput;

export interface NotifierOptions {
  notifications: Settings['notifications'];
  /** settings.time_zone, for times people read. */
  timeZone?: string;
  log: Logger;
  /** Compiled templates; default: the built-ins overlaid by `repoDir`'s templates/. */
  templates?: NotifyTemplates;
  repoDir?: string;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  readFile?: ReadSecretFile;
  queue?: NotificationQueue;
  retry?: Partial<RetryPolicy>;
  /** Default: in memory. Use stateStoreDedup(store) to share with CLI runs. */
  dedup?: DedupStore;
  /** Previous run of the same VM and kind, to spot recoveries. Use previousRunFrom(store). */
  previousRun?: (run: RunRecord) => Promise<RunRecord | undefined>;
  fetch?: typeof fetch;
  /** Resolves the channel secrets and scrubs every payload and error text (default: the process-wide vault). */
  vault?: SecretVault;
  /** Plain-text SMTP auth / http webhooks; default: from `env` (VMBACKUP_ALLOW_PLAINTEXT_SMTP / _HTTP). */
  allowPlaintext?: PlaintextAllowance;
  /** Extra CA for the SMTP server's certificate. */
  smtpTls?: MailerTls;
}

export async function createNotifier(o: NotifierOptions): Promise<ChannelNotifier> {
  const templates = o.templates ?? await loadNotifyTemplates(o.repoDir);
  return new ChannelNotifier(o, templates);
}

export class ChannelNotifier implements Notifier {
  /** Channels left out because a secret could not be resolved (already logged). */
  readonly problems: string[];
  readonly queue: NotificationQueue;
  private readonly channels: Channels;
  private readonly vault: SecretVault;
  private readonly mailer?: Mailer;
  private readonly dedup: DedupStore;
  /** Last run per VM and kind seen by this process: recovery detection without a store. */
  private readonly lastRun = new Map<string, RunRecord>();
  private serial: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: NotifierOptions, private readonly templates: NotifyTemplates) {
    this.vault = o.vault ?? defaultVault;
    const r = resolveChannels(o.notifications, o.env ?? process.env, o.readFile, this.vault, o.allowPlaintext);
    this.channels = r.channels;
    this.problems = r.problems;
    for (const p of r.problems) o.log.warn({ problem: p }, 'notification channel disabled');
    if (r.channels.email) this.mailer = new Mailer(r.channels.email, o.smtpTls, this.vault.scrub);
    this.queue = o.queue ?? new NotificationQueue({ log: o.log, ...(o.retry ? { retry: o.retry } : {}) });
    this.dedup = o.dedup ?? memoryDedup();
  }

  /** Channel names that will receive something. */
  get configured(): ChannelName[] {
    const c = this.channels;
    return [...(c.slackFailure ? ['slack-failure' as const] : []), ...(c.slackDigest ? ['slack-digest' as const] : []),
      ...(c.email ? ['email' as const] : []), ...(c.webhook ? ['webhook' as const] : [])];
  }

  /** The engine port: a run finished. A success after a failed run is announced as a recovery. */
  async notify(e: { kind: 'failure' | 'warning' | 'success'; run: RunRecord }): Promise<void> {
    await this.guard('run', async () => {
      const key = `${e.run.vm}\u0000${e.run.kind}`;
      const prev = e.kind === 'failure' ? undefined : (await this.o.previousRun?.(e.run)) ?? this.lastRun.get(key);
      this.lastRun.set(key, e.run);
      const kind = e.kind === 'failure' ? 'failure' : classifyRun(e.run, prev);
      const v = this.viewOpts();
      await this.send(kind === 'failure' ? failureView(e.run, v) : kind === 'recovery' ? recoveryView(e.run, prev, v)
        : kind === 'warning' ? warningView(e.run, v) : successView(e.run, v));
    });
  }

  /** A VM run, or a policy revision, is healthy again after a failure. */
  async recovered(r: RecoveryInput): Promise<void> {
    await this.guard('recovered', () => this.send('run' in r ? recoveryView(r.run, r.previous, this.viewOpts()) : configRecoveredView(r, this.viewOpts())));
  }

  /** A revision was not applied; sent once per revision. */
  async configAlert(a: ConfigAlertInput): Promise<void> {
    await this.guard('config-alert', () => this.send(configAlertView(a, this.viewOpts())));
  }

  /** The mass-prune guard refused a VM's prunes; sent once per revision and VM. */
  async pruneRefused(a: PruneRefusedInput): Promise<void> {
    await this.guard('prune-refused', () => this.send(pruneRefusedView(a, this.viewOpts())));
  }

  /** The scheduled digest (includes the storage alert when above the threshold, what was pruned and the ad-hoc acts of the period). */
  async digest(summary: FleetSummary, statuses: readonly VmStatus[], pruned: PrunedSinceDigest = {}, adhoc: readonly AuditEntry[] = []): Promise<void> {
    await this.guard('digest', () => this.send(digestView(summary, statuses, this.viewOpts(), pruned, adhoc)));
  }

  /** The storage alert on its own, at most daily; nothing when below the threshold. */
  async storage(summary: FleetSummary): Promise<void> {
    const view = storageView(summary, this.viewOpts());
    if (view) await this.guard('storage', () => this.send(view));
  }

  /** Waits for queued messages (shutdown, CLI exit, tests); true if all were settled in time. */
  drain(timeoutMs: number): Promise<boolean> {
    return this.queue.drain(timeoutMs);
  }

  close(): void {
    this.queue.close();
    this.mailer?.close();
  }

  private viewOpts(): ViewOptions {
    return { now: (this.o.now ?? (() => new Date()))(), ...(this.o.timeZone ? { timeZone: this.o.timeZone } : {}) };
  }

  /** Serialises sends (dedup is read-check-write) and turns any error into a log line. */
  private guard(what: string, fn: () => Promise<void>): Promise<void> {
    const next = this.serial.then(fn).catch((e: unknown) => {
      this.o.log.error({ notification: what, err: this.scrub((e as Error).message ?? String(e)) }, 'notification could not be queued');
    });
    this.serial = next;
    return next;
  }

  private async send(view: NotifyView): Promise<void> {
    const log = this.o.log;
    const routes = routesFor(view.kind, this.channels);
    const subject = view.vm ?? view.revision;
    if (routes.length === 0) { log.debug({ kind: view.kind, subject }, 'no notification channel for this event'); return; }
    const now = this.viewOpts().now;
    const history = await this.dedup.load();
    if (!shouldSend(history, view, now)) { log.info({ kind: view.kind, subject }, 'notification suppressed (sent recently)'); return; }
    await this.dedup.save(recordSent(history, view, now));
    for (const ch of routes) {
      const deliver = this.prepare(ch, view);
      if (deliver) this.queue.enqueue({ channel: ch, kind: view.kind, ...(subject ? { subject } : {}), deliver });
    }
    log.info({ kind: view.kind, subject, channels: routes }, 'notification queued');
  }

  /** Renders now (so a template error is reported here) and returns the delivery thunk. */
  private prepare(ch: ChannelName, view: NotifyView): (() => Promise<void>) | undefined {
    const c = this.channels;
    const post = (url: string, body: string) => () => postJson(url, body, { scrub: this.vault.scrub, ...(this.o.fetch ? { fetch: this.o.fetch } : {}) });
    try {
      if (ch === 'email' && this.mailer) {
        const mailer = this.mailer;
        const subj = this.templates.render(NOTIFY_TEMPLATES.emailSubject, view, this.o.log).replace(/\s+/g, ' ').trim();
        const body = this.templates.render(NOTIFY_TEMPLATES.emailBody, view, this.o.log).replace(/\n{3,}/g, '\n\n').trim() + '\n';
        return () => mailer.send(subj, body);
      }
      if (ch === 'webhook' && c.webhook) return post(c.webhook, this.templates.render(NOTIFY_TEMPLATES.webhook, view, this.o.log));
      const url = ch === 'slack-digest' ? c.slackDigest : c.slackFailure;
      const name = slackTemplateFor(view.kind);
      if (url && name) return post(url, this.templates.render(name, view, this.o.log));
    } catch (e) {
      this.o.log.error({ channel: ch, kind: view.kind, err: this.scrub((e as Error).message) }, 'notification template failed');
    }
    return undefined;
  }

  private scrub(s: string): string {
    return this.vault.scrub(s);
  }
}
