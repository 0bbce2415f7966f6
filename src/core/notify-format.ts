// Human-readable numbers, times and lists for notifications. Pure: the time zone and every
// value are parameters; nothing here reads the clock or the environment.
import type { Diagnostic } from './model.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → `1.5 KiB`; one decimal from KiB up, none for bytes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return 'n/a';
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[i]}`;
}

/** 11_520_000 → `3h 12m`; seconds only below ten minutes. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'n/a';
  const s = Math.round(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m`;
  if (m >= 10) return `${m}m`;
  return m > 0 ? `${m}m ${sec}s` : `${sec}s`;
}

/** `2026-02-07 14:03:11 EST` in the given IANA zone; an unknown zone falls back to UTC. */
export function formatTime(iso: string, timeZone = 'UTC'): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
    });
  } catch {
    return formatTime(iso, 'UTC');
  }
  const p: Record<string, string> = {};
  for (const part of fmt.formatToParts(d)) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

/** Milliseconds between two ISO times, or undefined if either is missing or malformed. */
export function elapsedMs(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The validator's `file:line:col: message` form; strings pass through unchanged. */
export function formatProblem(p: Diagnostic | string): string {
  return typeof p === 'string' ? p : `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** At most `max` lines, the rest summarised, so a 5,000-error revision stays one readable message. */
export function capLines(lines: readonly string[], max: number): string[] {
  if (lines.length <= max) return [...lines];
  return [...lines.slice(0, max), `… and ${lines.length - max} more`];
}

/** Cuts to `max` characters with an ellipsis (Slack rejects oversize blocks outright). */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/** First 12 characters of a git revision, as people quote them. */
export function shortRev(rev: string): string {
  return /^[0-9a-f]{13,}$/i.test(rev) ? rev.slice(0, 12) : rev;
}
