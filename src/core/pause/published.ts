// The pauses a control host hands a `runs_on: hypervisor` host (<state_dir>/pauses.json there):
// only that host's VMs, only what the hold needs; and the strict reading of that file on the host.
import { checkReason, type Pause } from './pause.js';
import { activePauses } from './pause.js';

/** One published pause: what the hypervisor's held check and its skip message need, nothing more. */
export interface PublishedPause { vm: string; until: string; reason: string; by: string }

/** The pauses in force at `now` for `vms` (one hypervisor's), by VM name in name order. */
export function pausesFor(pauses: Readonly<Record<string, Pause>>, vms: readonly string[], now: string): Record<string, PublishedPause> {
  const inForce = activePauses(pauses, now);
  const out: Record<string, PublishedPause> = {};
  for (const vm of [...vms].sort()) {
    const p = inForce[vm];
    if (p) out[vm] = { vm, until: p.until, reason: p.reason, by: p.by };
  }
  return out;
}

/** The file's text: `{}` when none (so a resume reaches the host too). */
export const publishedPausesText = (p: Readonly<Record<string, PublishedPause>>): string => `${JSON.stringify(p, null, 2)}\n`;

const VM = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const BY = /^[\x21-\x7e][\x20-\x7e]{0,199}$/;
const FIELDS = ['by', 'reason', 'until', 'vm'];

/** Parses the published file strictly: every entry exactly { vm (= its key), until, reason, by }, or an error in words. */
export function parsePublishedPauses(text: string): { pauses: Record<string, Pause> } | { error: string } {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) { return { error: `not JSON (${(e as Error).message})` }; }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { error: 'not a JSON object' };
  const pauses: Record<string, Pause> = {};
  for (const [key, v] of Object.entries(raw)) {
    const what = `entry ${JSON.stringify(key.slice(0, 80))}`;
    if (!VM.test(key) || key.includes('..')) return { error: `${what}: not a VM name` };
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: `${what}: not an object` };
    const e = v as Record<string, unknown>;
    if (Object.keys(e).sort().join() !== FIELDS.join()) return { error: `${what}: expected exactly the fields ${FIELDS.join(', ')}` };
    if (e.vm !== key) return { error: `${what}: vm is not the entry's key` };
    if (typeof e.until !== 'string' || !ISO.test(e.until) || !Number.isFinite(Date.parse(e.until))) return { error: `${what}: until is not an ISO time with a zone` };
    if (typeof e.reason !== 'string' || checkReason(e.reason)) return { error: `${what}: reason: ${typeof e.reason === 'string' ? checkReason(e.reason) : 'not a string'}` };
    if (typeof e.by !== 'string' || !BY.test(e.by)) return { error: `${what}: by is not one line of printable text` };
    // `at` (when it was asked) stays on the control host; the hold never reads it.
    pauses[key] = { vm: key, until: e.until, reason: e.reason, by: e.by, at: '' };
  }
  return { pauses };
}
