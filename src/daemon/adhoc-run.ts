// One ad-hoc action through the engine, under the policy of the applied revision: the same calls
// as the plan's executor (execute.ts) and the CLI's restore (app/restore-action.ts: the newest
// good point by default, restoreVm with its checks), with the engine's steps reported as phases.
import type { Bconsole } from '../adapters/bacula/bconsole.js';
import { BackupStore } from '../adapters/storage/backup-store.js';
import type { StateStore } from '../adapters/store/state-store.js';
import { copyPercent, phaseOfStep } from '../core/console/api-phase.js';
import type { DesiredState } from '../core/model.js';
import type { Phase, QueuedAction } from '../ports/console.js';
import type { Logger } from 'pino';
import { backupVm } from '../engine/backup.js';
import { findVm, type EngineContext, type Notifier } from '../engine/context.js';
import type { Hosts } from '../engine/hosts.js';
import { latestGoodBackup } from '../engine/latest-backup.js';
import { restoreVm } from '../engine/restore.js';
import { testRestore } from '../engine/test-restore.js';
import { verifyVm } from '../engine/verify.js';
import { baculaBackup } from './execute.js';
import { pruneByRetention } from './adhoc-prune.js';

export interface InForce { revision: string; desired: DesiredState; hosts: Hosts }

export interface RunDeps {
  store: StateStore;
  stateDir: string;
  log: Logger;
  now: () => Date;
  notifier: Notifier;
  bconsole?: Bconsole;
}

export interface RunOutcome { ok: boolean; detail: string; runId?: string; backupId?: string }

/** The engine's context for an action under the revision in force; steps and copy progress become phases. */
export function adhocContext(d: RunDeps, f: InForce, a: Pick<QueuedAction, 'id' | 'vm' | 'kind'>, phase: (p: Phase, percent?: number) => void): EngineContext {
  return {
    desired: f.desired, revision: f.revision, hosts: f.hosts, storage: new BackupStore(f.desired.settings.storageRoot), store: d.store, stateDir: d.stateDir,
    log: d.log.child({ action: a.id, vm: a.vm, kind: a.kind }), now: d.now, notifier: d.notifier,
    onStep: (name) => { const p = phaseOfStep(name); if (p) phase(p); },
    onCopy: (_label, written, total) => { const pct = copyPercent(written, total); if (pct !== undefined) phase('copying', pct); },
  };
}

/** Runs `a` (already holding its concurrency slots); `phase` reports phase and percent changes. */
export async function runAdhoc(d: RunDeps, f: InForce, a: QueuedAction, phase: (p: Phase, percent?: number) => void): Promise<RunOutcome> {
  const vm = findVm(f.desired, a.vm);
  const ctx = adhocContext(d, f, a, phase);
  switch (a.kind) {
    case 'backup': {
      if (f.desired.settings.scheduler === 'bacula' && d.bconsole) {
        phase('copying');
        return { ok: true, detail: await baculaBackup(d.bconsole, a.vm, f.desired.settings.backup.copyTimeoutHours * 3_600_000) };
      }
      const run = await backupVm(ctx, vm);
      return run.status === 'ok' ? { ok: true, detail: `backup ${run.backupId ?? ''}`.trim(), runId: run.id, ...(run.backupId ? { backupId: run.backupId } : {}) } : { ok: false, detail: run.error ?? 'backup failed', runId: run.id };
    }
    case 'verify': {
      phase('verify');
      const { run, results } = await verifyVm(ctx, vm, a.backupId ? { backup: a.backupId } : { latest: true });
      const id = results[0]?.id ?? a.backupId;
      return { ok: run.status === 'ok', detail: run.status === 'ok' ? `verified ${id ?? ''}`.trim() : run.error ?? 'verification failed', runId: run.id, ...(id ? { backupId: id } : {}) };
    }
    case 'test-restore': {
      const { run, evidence } = await testRestore(ctx, vm, a.backupId ? { backupId: a.backupId } : {});
      return { ok: run.status === 'ok', detail: run.status === 'ok' ? `test-restored ${evidence.backup_id}: ${evidence.result}` : run.error ?? 'test restore failed', runId: run.id, backupId: evidence.backup_id };
    }
    case 'prune': {
      // The VM's retention now, as `vmbackup prune <vm>` (adhoc-prune.ts): never a point named by the request.
      phase('pre-checks');
      const r = await pruneByRetention(ctx, vm);
      phase('publish');
      return { ok: r.ok, detail: r.detail };
    }
    case 'restore': {
      const r = a.restore!;
      const backupId = a.backupId ?? await latestGoodBackup(ctx, vm);
      const out = await restoreVm(ctx, vm, {
        backupId, network: r.network, ...(r.mode === 'new' ? { as: r.name! } : { force: true }),
        ...(r.hypervisor ? { host: r.hypervisor } : {}), ...(r.start ? { start: true } : {}),
      });
      return out.run.status === 'ok'
        ? { ok: true, detail: `restored ${backupId} as ${out.name} on ${out.host}${r.start ? ' (started)' : ''}`, runId: out.run.id, backupId }
        : { ok: false, detail: out.run.error ?? 'restore failed', runId: out.run.id, backupId };
    }
  }
}
