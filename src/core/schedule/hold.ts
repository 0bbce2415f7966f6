// Why a VM's scheduled or catch-up backup may not start (a pause in force, outside its window or in
// a blackout), in the words the plan, the daemon log and a skipped scheduled run all use.
import type { Pause } from '../pause/pause.js';
import { localTime } from '../plan-format.js';
import type { WindowRules } from './window-rules.js';
import { nextAllowedStart, windowState } from './window.js';

export interface Hold {
  kind: 'paused' | 'window';
  /** When the backup may start again (absent: no start found within years). */
  until?: string;
  /** `paused until … by … (reason)` or `outside the backup window (…); next start …`. */
  text: string;
}

export interface HoldInput {
  pause?: Pause | undefined;
  rules?: WindowRules | undefined;
  now: string;
  /** A failed backup's retry time (core/reconcile/due.ts retryAfter): the later of it and the window counts. */
  retry?: string | undefined;
  timeZone: string;
}

/** The hold on the VM's next scheduled or catch-up backup, or undefined when it may start (now, or at its retry). */
export function backupHold(h: HoldInput): Hold | undefined {
  if (h.pause) return { kind: 'paused', until: h.pause.until, text: `paused until ${h.pause.until} by ${h.pause.by} (${h.pause.reason})` };
  const start = h.retry && Date.parse(h.retry) > Date.parse(h.now) ? h.retry : h.now;
  const state = windowState(h.rules, h.now, h.timeZone);
  if (!state) return undefined;
  const next = start === h.now ? (state.open ? h.now : state.nextStart) : nextAllowedStart(h.rules, start, h.timeZone);
  if (next !== undefined && Date.parse(next) === Date.parse(start)) return undefined;
  const when = next ? `next start ${next} (${localTime(next, h.timeZone)})` : 'no start allowed within the next years';
  return { kind: 'window', ...(next ? { until: next } : {}), text: `outside the backup window (${state.text}); ${when}` };
}
