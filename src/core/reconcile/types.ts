// The reconcile loop as data: what was observed, and the closed set of actions a plan may hold.
import type { RestorePoint, Retention } from '../model.js';
import type { Pause } from '../pause/pause.js';

export interface ObservedPoint extends RestorePoint {
  sizeBytes?: number;
  /** When the last verification (at backup time or later) happened. */
  verifiedAt?: string;
}

export interface ObservedHost {
  reachable: boolean;
  error?: string;
  /** libvirt domain states on the host, managed or not. */
  domains: Record<string, string>;
  /** VMs still running on one of our overlays (a crashed run's leftover). */
  leftoverOverlays: Record<string, string[]>;
}

export interface ObservedVmStorage {
  hypervisor: string;
  points: ObservedPoint[];
  partials: string[];
}

export interface ObservedRuns {
  /** `failedInARow`: backups that failed one after the other up to this one (0 or absent when it did not fail). */
  lastBackup?: { time: string; status: 'ok' | 'failed' | 'interrupted'; failedInARow?: number; revision?: string };
  lastTestRestore?: { time: string; backupId: string; result: 'ok' | 'failed' };
}

export interface Observed {
  at: string;
  hosts: Record<string, ObservedHost>;
  /** By VM name, including VMs no longer in the repo (their backups are still on storage). */
  storage: Record<string, ObservedVmStorage>;
  runs: Record<string, ObservedRuns>;
  /** VMs that left the repo: when, and the retention they had then. */
  removed: Record<string, { since: string; retention: Retention }>;
  /** Pauses recorded by `vmbackup pause` or the API (expired ones included; the plan checks `now`). */
  pauses?: Record<string, Pause>;
}

export type Action =
  | { kind: 'cleanup'; vm: string; hypervisor: string; reason: string }
  | { kind: 'backup'; vm: string; hypervisor: string; priority: number; reason: 'never' | 'overdue' }
  | { kind: 'prune'; vm: string; hypervisor: string; id: string; reasons: string[] }
  | { kind: 'verify'; vm: string; hypervisor: string; id: string; reason: string }
  | { kind: 'test-restore'; vm: string; hypervisor: string; id: string; reason: string }
  | { kind: 'report'; what: 'unprotected' | 'missing' | 'host-unreachable' | 'prune-refused' | 'removed-grace' | 'held'; subject: string; message: string };

export interface ReconcilePlan {
  /** The policy revision the plan was made for; executing it under another revision is refused. */
  revision: string;
  observedAt: string;
  now: string;
  actions: Action[];
  /** Why each VM is (or is not) fine, for status conditions. */
  vmNotes: Record<string, VmNote>;
}

/** Backup window state of a VM at plan time (policy `window` / `blackout`). */
export interface WindowNote {
  /** Whether a scheduled or catch-up backup may start now. */
  open: boolean;
  /** The next time one may start (absent when open now, or never). */
  nextStart?: string;
  /** The rules in words, e.g. `window sat 12:00 for 30h; blackout 2026-12-24..2026-12-27`. */
  text: string;
}

export interface VmNote {
  overdue: boolean;
  nextDue?: string;
  unknown: boolean;
  missing: boolean;
  /** The pause in force at plan time: scheduled and catch-up backups are held. */
  paused?: Pause;
  /** Present when the VM's policy has a window or blackouts. */
  window?: WindowNote;
}

export interface ReconcileOptions {
  /** Mass-prune guard: refuse a pass that would delete more than this share of a VM's points (or of all points). */
  maxPruneShare: number;
  /** settings.allow_mass_prune: the repo explicitly allows the pass. */
  allowMassPrune: boolean;
  /** Days a removed VM's backups are kept before its last retention applies. */
  removedGraceDays: number;
  /** At most this many verify actions per pass (oldest verification first). */
  maxVerifiesPerPass: number;
}
