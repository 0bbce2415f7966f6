// Which notifications to suppress as repeats. Pure: the history of what was sent is data the
// caller keeps (in memory, or in the state store so separate CLI processes share it).
import type { NotifyView } from './notify-view.js';

/** Run notifications repeat at most once per VM and kind within this window. */
export const DEDUP_WINDOW_MS = 5 * 60_000;
/** The storage alert repeats at most daily. */
export const STORAGE_WINDOW_MS = 24 * 3_600_000;
/** Entries kept for "once per revision" keys, newest first. */
export const MAX_PERMANENT_ENTRIES = 200;

export interface SentEntry {
  key: string;
  /** ISO time it was sent. */
  at: string;
  /** ISO time the suppression ends; absent = never (once per revision). */
  until?: string;
}

export type DedupSubject = Pick<NotifyView, 'kind' | 'vm' | 'revision'>;

/** The suppression key and window for an event, or undefined if it is never deduplicated (the digest). */
export function dedupKey(e: DedupSubject): { key: string; windowMs: number } | undefined {
  switch (e.kind) {
    case 'failure': case 'warning': case 'success': case 'recovery':
      return { key: `${e.kind}:${e.vm ?? '?'}`, windowMs: DEDUP_WINDOW_MS };
    case 'config-alert': case 'config-recovered':
      return { key: `${e.kind}:${e.revision ?? '?'}`, windowMs: Infinity };
    case 'prune-refused':
      return { key: `${e.kind}:${e.revision ?? '?'}:${e.vm ?? '(fleet)'}`, windowMs: Infinity };
    case 'storage':
      return { key: 'storage', windowMs: STORAGE_WINDOW_MS };
    case 'digest':
      return undefined;
  }
}

function live(h: readonly SentEntry[], now: Date): SentEntry[] {
  const t = now.getTime();
  return h.filter((e) => e.until === undefined || Date.parse(e.until) > t);
}

export function shouldSend(history: readonly SentEntry[], e: DedupSubject, now: Date): boolean {
  const k = dedupKey(e);
  if (!k) return true;
  return !live(history, now).some((x) => x.key === k.key);
}

/** The history after sending `e` at `now`: expired entries dropped, permanent ones capped. */
export function recordSent(history: readonly SentEntry[], e: DedupSubject, now: Date): SentEntry[] {
  const k = dedupKey(e);
  const kept = live(history, now).filter((x) => !k || x.key !== k.key);
  if (k) {
    const until = Number.isFinite(k.windowMs) ? { until: new Date(now.getTime() + k.windowMs).toISOString() } : {};
    kept.push({ key: k.key, at: now.toISOString(), ...until });
  }
  const permanent = kept.filter((x) => x.until === undefined);
  if (permanent.length <= MAX_PERMANENT_ENTRIES) return kept;
  const drop = new Set(permanent.slice(0, permanent.length - MAX_PERMANENT_ENTRIES));
  return kept.filter((x) => !drop.has(x));
}
