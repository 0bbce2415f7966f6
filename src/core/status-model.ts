// What the daemon reports about the fleet, as plain data: Flux-style conditions per VM, restore
// points with the reason each is kept, and the fleet summary. Written back under `status/`.

import type { ChainSummary } from './chain/summary.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Flux/Kubernetes-style condition: Ready says whether the VM is protected as its policy asks; Stalled needs a human. */
export interface Condition {
  type: 'Ready' | 'Stalled';
  status: ConditionStatus;
  /** CamelCase, stable: BackupSucceeded, BackupFailed, Overdue, HostUnreachable, NotFound, NoBackupYet, … */
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export type DayOutcome = 'ok' | 'failed' | 'warning' | 'none';

export interface StatusRestorePoint {
  id: string;
  time: string;
  status: 'ok' | 'failed';
  verify: 'ok' | 'failed' | 'none';
  /** Recorded when the point says (absent on points before incrementals: a full). */
  kind?: 'full' | 'incremental';
  /** Incremental: the point it depends on. */
  parent?: string;
  size_bytes?: number;
  /** Why retention keeps it (e.g. `keep_weekly 2026-W07`), or why it goes. */
  keep_reason: string[];
}

export interface VmStatus {
  vm: string;
  hypervisor: string;
  policy?: string;
  /** What libvirt said at the last observation. */
  observed: 'running' | 'shut off' | 'paused' | 'missing' | 'unknown';
  conditions: Condition[];
  last_backup?: {
    id?: string;
    time: string;
    status: 'ok' | 'failed' | 'interrupted';
    size_bytes?: number;
    duration_ms?: number;
    method?: string;
    consistency?: string;
    warnings: string[];
    error?: string;
  };
  restore_points: StatusRestorePoint[];
  /** The newest point's chain and the policy's full_every (core/chain/summary.ts). */
  chain?: ChainSummary;
  last_verify?: { time: string; backup_id: string; result: 'ok' | 'failed' };
  /** probe: what evidence of a boot was asked for and seen; screenshot: the PNG's path on backup storage. */
  last_test_restore?: { time: string; backup_id: string; result: 'ok' | 'failed'; probe?: string; screenshot?: string };
  next_due?: string;
  /** A pause in force (`vmbackup pause` / the console): scheduled and catch-up backups are held until `until`. */
  paused?: { until: string; reason: string; by: string };
  /** Policy window / blackout: whether a backup may start now, and the next start inside the window. */
  window?: { open: boolean; next_start?: string; text: string };
  /** One entry per day, newest last, for the calendar. */
  history: { day: string; outcome: DayOutcome }[];
}

export interface FleetSummary {
  generated_at: string;
  last_applied_revision?: string;
  last_attempted_revision?: string;
  last_attempt_errors: string[];
  totals: { vms: number; ready: number; failed: number; overdue: number; unknown: number; unprotected: number; missing: number };
  unprotected: { hypervisor: string; vm: string }[];
  missing: string[];
  storage?: { used_bytes: number; total_bytes: number; percent: number };
  backups_last_7d: { ok: number; failed: number; size_bytes: number; duration_ms: number };
}
