// Compares what `vmbackup agent install` would deploy with what the hypervisor has, and decides:
// absent → install (no --yes needed), equal → nothing, different → a diff and nothing unless
// --yes, a symlink or odd file type → refused. Secret lines never reach a diff. Pure.
import { unifiedDiff } from '../text-diff.js';
import { escapeTerminal } from '../terminal-text.js';
import { MANIFEST_NAME, type DesiredItem } from './desired.js';

/** What one destination is on the hypervisor (lstat: a symlink is never followed). */
export type Observed =
  | { kind: 'absent' }
  /** `at`: the symlink is the destination's parent directory, not the destination itself. */
  | { kind: 'symlink'; at?: string }
  | { kind: 'other'; type: string }
  /** `content` undefined: larger than the read limit (never read past it). */
  | { kind: 'file'; mode: number; owner: string; content?: string }
  /** A tree's directory: `manifest` as for a file's content, `null` when it has none. */
  | { kind: 'dir'; mode: number; owner: string; manifest?: string | null };

export type Action = 'install' | 'update' | 'unchanged' | 'refuse';

export interface Step {
  item: DesiredItem;
  action: Action;
  /** One line: what differs, or why it is refused. */
  detail?: string;
  /** Unified diff (secret lines redacted, control characters escaped). */
  diff?: string;
}

export const REDACTED_LINE = '[redacted]';
export const REDACTED_DIFFERS = '[redacted, differs]';
const SECRET_LINE = /^(\s*Password\s*=\s*).*$/gim;

/** Every `Password = …` line's value replaced; a deployed one that differs from ours says so, never what it is. */
export function redactSecrets(text: string, desired?: string): string {
  const ours = new Set([...(desired ?? '').matchAll(SECRET_LINE)].map((m) => m[0].trim()));
  return text.replace(SECRET_LINE, (line, head: string) => `${head}"${desired === undefined || ours.has(line.trim()) ? REDACTED_LINE : REDACTED_DIFFERS}"`);
}

const octal = (m: number): string => `0${(m & 0o7777).toString(8)}`;

function metaDrift(item: { mode: number; owner: string }, o: { mode: number; owner: string }): string[] {
  const out: string[] = [];
  if ((o.mode & 0o7777) !== item.mode) out.push(`mode ${octal(o.mode)} → ${octal(item.mode)}`);
  if (o.owner !== item.owner) out.push(`owner ${escapeTerminal(o.owner)} → ${item.owner}`);
  return out;
}

function diffOf(path: string, deployed: string, desired: string): string {
  return escapeTerminal(unifiedDiff(`${path} (deployed)`, `${path} (vmbackup agent install)`, deployed, desired));
}

/** One destination's step. */
export function stepFor(item: DesiredItem, o: Observed): Step {
  if (o.kind === 'absent') return { item, action: 'install' };
  if (o.kind === 'symlink') return { item, action: 'refuse', detail: o.at ? `its directory ${escapeTerminal(o.at)} is a symbolic link: never followed` : 'is a symbolic link: never followed or replaced' };
  if (item.kind === 'tree' || item.kind === 'dir') {
    if (o.kind !== 'dir') return { item, action: 'refuse', detail: `is a ${o.kind === 'file' ? 'regular file' : o.type}, not a directory` };
    if (item.kind === 'dir') {
      const d = metaDrift(item, o);
      return d.length ? { item, action: 'update', detail: d.join(', ') } : { item, action: 'unchanged' };
    }
    if (o.manifest === item.manifest) return { item, action: 'unchanged' };
    if (o.manifest === null) return { item, action: 'update', detail: `has no ${MANIFEST_NAME} (an interrupted or foreign install)` };
    if (o.manifest === undefined) return { item, action: 'update', detail: `its ${MANIFEST_NAME} is too large to read` };
    return { item, action: 'update', detail: 'files differ from this release', diff: diffOf(`${item.path}/${MANIFEST_NAME}`, o.manifest, item.manifest) };
  }
  if (o.kind !== 'file') return { item, action: 'refuse', detail: `is a ${o.kind === 'dir' ? 'directory' : o.type}, not a regular file` };
  const meta = metaDrift(item, o);
  if (o.content === item.content) return meta.length ? { item, action: 'update', detail: meta.join(', ') } : { item, action: 'unchanged' };
  const shown = (t: string, mine?: string): string => (item.secret ? redactSecrets(t, mine) : t);
  if (o.content === undefined) return { item, action: 'update', detail: ['the deployed file is too large to show', ...meta].join(', ') };
  const diff = diffOf(item.path, shown(o.content, item.content), shown(item.content));
  return { item, action: 'update', detail: ['content differs', ...meta].join(', '), diff };
}

export type Outcome = 'no-changes' | 'installed' | 'updated' | 'drift' | 'needs-yes' | 'refused';

export interface Decision {
  outcome: Outcome;
  /** Steps to carry out (empty unless something is written). */
  apply: Step[];
  exitCode: number;
}

/** Exit codes: 0 nothing to do or done, 1 refused or (--check) drift, 2 a deployed file differs and --yes was not given. */
export function decide(steps: readonly Step[], o: { check?: boolean; yes?: boolean }): Decision {
  const todo = steps.filter((s) => s.action === 'install' || s.action === 'update');
  if (steps.some((s) => s.action === 'refuse')) return { outcome: 'refused', apply: [], exitCode: 1 };
  if (!todo.length) return { outcome: 'no-changes', apply: [], exitCode: 0 };
  if (o.check) return { outcome: 'drift', apply: [], exitCode: 1 };
  const updates = todo.some((s) => s.action === 'update');
  if (updates && !o.yes) return { outcome: 'needs-yes', apply: [], exitCode: 2 };
  return { outcome: updates ? 'updated' : 'installed', apply: todo, exitCode: 0 };
}
