// The daemon's notifier: every event is logged (journald), and sent through the channels that
// the *applied* revision configures — a broken revision can't silence or redirect its own alert.
import type { Logger } from 'pino';
import type { PolicySnapshot } from '../ports/policy-source.js';
import type { FleetSummary, VmStatus } from '../core/status-model.js';
import { createNotifier, type ChannelNotifier } from '../adapters/notify/notifier.js';
import { loadNotifyTemplates } from '../adapters/notify/templates.js';
import { previousRunFrom, stateStoreDedup } from '../adapters/notify/state.js';
import { recordPrunedIds, takePrunedIds } from '../adapters/notify/pruned-ledger.js';
import type { StateStore } from '../adapters/store/state-store.js';
import type { AuditLog } from '../adapters/store/audit-log.js';
import { takeAdhocPeriod } from '../adapters/notify/adhoc-period.js';
import type { AuditEntry } from '../core/audit/entry.js';
import type { DaemonNotifier } from './cycle.js';

/** state.json key: VM → the revision whose prune refusal was last alerted. */
export const PRUNE_REFUSED_KEY = 'pruneRefusedAlerted';

export class NotifierBridge implements DaemonNotifier {
  private current: ChannelNotifier | undefined;
  private key = '';
  /** `audit`: the state dir's audit log, whose acts since the previous digest the digest lists. */
  constructor(private readonly log: Logger, private readonly store: StateStore, private readonly env: NodeJS.ProcessEnv, private readonly audit?: AuditLog) {}

  /** Switch to the channels and templates of the revision in force (no-op when they did not change). */
  async use(snapshot: PolicySnapshot): Promise<void> {
    if (!snapshot.load.ok) return;
    const desired = snapshot.load.desired;
    const key = JSON.stringify([desired.settings.notifications, desired.settings.timeZone, [...snapshot.templateFiles]]);
    if (key === this.key) return;
    await this.current?.drain(5000);
    const templates = await loadNotifyTemplates(snapshot.templateFiles);
    this.current = await createNotifier({ notifications: desired.settings.notifications, timeZone: desired.settings.timeZone, log: this.log, templates, env: this.env, dedup: stateStoreDedup(this.store), previousRun: previousRunFrom(this.store) });
    this.key = key;
  }

  async notify(e: Parameters<DaemonNotifier['notify']>[0]): Promise<void> {
    this.log[e.kind === 'failure' ? 'error' : 'info']({ event: e.kind, vm: e.run.vm, run: e.run.id, error: e.run.error }, 'notification');
    await this.current?.notify(e);
  }

  async configAlert(revision: string, errors: string[], appliedRevision?: string, stage?: string): Promise<void> {
    this.log.error({ event: 'config-alert', revision, stage, errors }, 'notification');
    if (!this.current) this.log.error({ revision }, 'no notification channel yet (no revision was ever applied): the refusal is only logged, in state.json and on /readyz');
    const reason = stage === 'untrusted' || stage === 'history' || errors.some((x) => /not trusted/.test(x)) ? 'untrusted' : 'invalid';
    await this.current?.configAlert({ revision, reason, errors, ...(appliedRevision ? { appliedRevision } : {}) });
  }

  /**
   * The mass-prune guard refused `vm`'s prunes under `revision`: alerted once per revision and VM
   * (remembered in the state store, so a restart or the next pass does not repeat it).
   * Returns whether it alerted.
   */
  async pruneRefused(revision: string, vm: string, message: string): Promise<boolean> {
    let fresh = false;
    await this.store.update((d) => {
      const seen = (typeof d[PRUNE_REFUSED_KEY] === 'object' && d[PRUNE_REFUSED_KEY] !== null ? d[PRUNE_REFUSED_KEY] : {}) as Record<string, string>;
      if (seen[vm] === revision) return;
      fresh = true;
      d[PRUNE_REFUSED_KEY] = { ...seen, [vm]: revision };
    });
    if (!fresh) return false;
    this.log.error({ event: 'prune-refused', revision, vm, reason: message }, 'notification');
    await this.current?.pruneRefused({ revision, vm, message });
    return true;
  }

  async recovered(revision: string, failedRevision?: string): Promise<void> {
    this.log.info({ event: 'recovered', revision }, 'notification');
    await this.current?.recovered({ revision, ...(failedRevision ? { failedRevision } : {}) });
  }

  /** Backup ids retention deleted: listed in the next digest (kept in the state file across restarts). */
  async pruned(vm: string, ids: string[]): Promise<void> {
    await recordPrunedIds(this.store, vm, ids);
  }

  async digest(summary: FleetSummary, statuses: readonly VmStatus[]): Promise<void> {
    this.log.info({ event: 'digest', totals: summary.totals }, 'notification');
    if (!this.current) return;
    await this.current.digest(summary, statuses, await takePrunedIds(this.store), await this.adhocPeriod());
  }

  /** The audit's acts since the previous digest; an unreadable audit is logged and the digest still goes out. */
  private async adhocPeriod(): Promise<AuditEntry[]> {
    if (!this.audit) return [];
    try {
      return await takeAdhocPeriod(this.store, this.audit, new Date());
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'digest: the audit log could not be read; ad-hoc actions are not listed');
      return [];
    }
  }

  async drain(ms: number): Promise<boolean> {
    return this.current ? this.current.drain(ms) : true;
  }
}
