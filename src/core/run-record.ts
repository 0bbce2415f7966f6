// What one engine run (backup, verify, restore, test-restore, cleanup) leaves in the run history:
// plain data shared by the core (status, notifications, metrics) and the state store that keeps it.
export type RunKind = 'backup' | 'verify' | 'restore' | 'test-restore' | 'cleanup';
export type RunStatus = 'running' | 'ok' | 'failed' | 'interrupted';

export interface RunStep { name: string; ok: boolean; ms: number; detail?: string }

export interface RunRecord {
  id: string;
  kind: RunKind;
  vm: string;
  hypervisor: string;
  backupId?: string;
  started: string;
  finished?: string;
  status: RunStatus;
  warnings: string[];
  error?: string;
  pid: number;
  steps: RunStep[];
  sizeBytes?: number;
  method?: string;
  /** Backups: what the snapshot really was (`filesystem`: guest frozen; `crash`: not). */
  consistency?: 'filesystem' | 'crash';
  revision?: string;
}
