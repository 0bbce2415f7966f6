// Where the notifier remembers things between processes (Bacula runs `vmbackup backup` as a fresh
// process per VM): what was sent recently (dedup) and each VM's previous run (recoveries).
import { previousRun } from '../../core/notify-runs.js';
import type { SentEntry } from '../../core/notify-dedup.js';
import type { RunRecord, StateStore } from '../store/state-store.js';

export interface DedupStore {
  load(): Promise<SentEntry[]>;
  save(history: SentEntry[]): Promise<void>;
}

/** Per-process memory: enough for the daemon, not shared with CLI runs. */
export function memoryDedup(initial: SentEntry[] = []): DedupStore {
  let h = [...initial];
  return { load: async () => [...h], save: async (next) => { h = [...next]; } };
}

/** The key under which the state file keeps the dedup history. */
export const SENT_KEY = 'notificationsSent';

function isSentList(v: unknown): v is SentEntry[] {
  return Array.isArray(v) && v.every((e) => typeof e === 'object' && e !== null && typeof (e as SentEntry).key === 'string' && typeof (e as SentEntry).at === 'string');
}

/** Dedup history in the lowdb state file, shared by the daemon and CLI runs on this host. */
export function stateStoreDedup(store: StateStore): DedupStore {
  return {
    async load() {
      await store.runs(); // re-reads the file: another process may have sent since
      const v = store.data[SENT_KEY];
      return isSentList(v) ? [...v] : [];
    },
    async save(history) {
      await store.update((d) => { d[SENT_KEY] = history; });
    },
  };
}

/** The run before `run` for the same VM and kind, from the run history (for recovery detection). */
export function previousRunFrom(store: StateStore): (run: RunRecord) => Promise<RunRecord | undefined> {
  return async (run) => previousRun(await store.runs({ vm: run.vm, kind: run.kind }), run);
}
