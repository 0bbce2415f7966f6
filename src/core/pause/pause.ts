// A pause holds a VM's scheduled and catch-up backups until a time, with a reason and who asked.
// Pure: whether a pause is in force is a function of `now`; an expired pause simply stops counting.
export interface Pause {
  vm: string;
  /** ISO time the pause ends by itself. */
  until: string;
  reason: string;
  by: string;
  at: string;
}

/** The pause in force for `vm` at `now`, if any. */
export function activePause(pauses: Readonly<Record<string, Pause>>, vm: string, now: string): Pause | undefined {
  const p = pauses[vm];
  return p && Date.parse(p.until) > Date.parse(now) ? p : undefined;
}

/** Every pause still in force at `now`, by VM name. */
export function activePauses(pauses: Readonly<Record<string, Pause>>, now: string): Record<string, Pause> {
  const out: Record<string, Pause> = {};
  for (const [vm, p] of Object.entries(pauses)) if (Date.parse(p.until) > Date.parse(now)) out[vm] = p;
  return out;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** A pause may not run longer than this (a forgotten pause must still end). */
export const MAX_PAUSE_MS = 90 * 86_400_000;

/**
 * `--until`: an ISO time with a zone (`2026-12-05T08:00:00Z`, `…+01:00`) or a duration from now
 * (`30m`, `6h`, `2d`, `1w`, `1d12h`). Returns the ISO end, or an error in words.
 */
export function parseUntil(text: string, now: string): { until: string } | { error: string } {
  const t = text.trim();
  const nowMs = Date.parse(now);
  let end: number;
  if (/^(\d+[mhdw])+$/.test(t)) {
    end = nowMs;
    for (const m of t.matchAll(/(\d+)([mhdw])/g)) end += Number(m[1]) * UNITS[m[2]!]!;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(t)) {
    end = Date.parse(t);
  } else {
    return { error: `until ${JSON.stringify(text)}: expected a duration (30m, 6h, 2d, 1w) or an ISO time with a zone (2026-12-05T08:00:00Z)` };
  }
  if (!Number.isFinite(end)) return { error: `until ${JSON.stringify(text)}: not a valid time` };
  if (end <= nowMs) return { error: `until ${new Date(end).toISOString()} is not in the future` };
  if (end - nowMs > MAX_PAUSE_MS) return { error: `until ${new Date(end).toISOString()} is more than 90 days away; change the policy (enabled: false) for longer holds` };
  return { until: new Date(end).toISOString() };
}

/** A reason is required, one line, at most 200 characters. */
export function checkReason(reason: string): string | undefined {
  if (!reason.trim()) return 'a reason is required';
  if (/[\u0000-\u001f\u007f]/.test(reason)) return 'the reason must be one line of printable text';
  if (reason.length > 200) return 'the reason is longer than 200 characters';
  return undefined;
}
