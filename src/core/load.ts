// The policy repo as data: file texts in, normalised desired state and every diagnostic out.
// Pure: the shell decides which files to read (working tree or a git revision).
import { collect, err } from './collect.js';
import type { DesiredState, Diagnostic } from './model.js';
import { buildHypervisors, buildPolicies, buildVms, scheduleWordHint } from './normalize.js';
import { normalizeSchedule } from './schedule.js';
import { checkSchema } from './schema-check.js';
import { checkSecretRefs } from './secret-refs.js';
import { findCommentSecrets, findLiteralSecrets, hideSecretValues, stringAt } from './secrets-scan.js';
import { buildSettings } from './settings.js';
import { parseYamlFile, positionOf, type ParsedFile } from './yaml-source.js';
import { fieldName, suggest } from './schema-check.js';
import { refusedEntryDiagnostic, type RefusedKind } from './repo-entries.js';
import { escapeTerminal } from './terminal-text.js';

export interface PolicyFileText {
  /** Relative to the repo root, `/`-separated. */
  path: string;
  text: string;
  /** Set by the readers for a symlink or special file: never read, reported as a located error. */
  refused?: RefusedKind;
}

export interface LoadResult {
  ok: boolean;
  desired: DesiredState;
  diagnostics: Diagnostic[];
}

/** Which paths of a repo are policy files: YAML outside status/, templates/ and hidden dirs. */
export function isPolicyPath(path: string, statusPath = 'status'): boolean {
  if (!/\.ya?ml$/i.test(path)) return false;
  const parts = path.split('/');
  if (parts.some((p) => p.startsWith('.') || p === 'node_modules')) return false;
  if (parts[0] === 'templates') return false;
  return !(path === statusPath || path.startsWith(`${statusPath}/`));
}

/** Errors that only follow from another one; they are placed at their cause and listed after it. */
const FOLLOW_ON = new Set(['VMB_NO_SCHEDULE', 'VMB_NO_RETENTION']);
const rank = (d: Diagnostic): number => (FOLLOW_ON.has(d.code) ? 1 : 0);

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || rank(a) - rank(b) || a.code.localeCompare(b.code);
}

/** What one file contributes on its own: parse, schema and secret checks (no cross-file rules). */
interface FileResult { text: string; parsed?: ParsedFile; diagnostics: Diagnostic[]; /** Strings that look like secrets: no message may print them. */ secretValues?: string[] }

/**
 * Per-file results shared between loads of the same repo (plan loads two revisions; most files
 * are the same in both). Keyed by path, reused only when the text is identical. Results are
 * read-only, so sharing them cannot change either load.
 */
export interface LoadCache { files: Map<string, FileResult> }

export function createLoadCache(): LoadCache {
  return { files: new Map() };
}

function checkFile(path: string, text: string): FileResult {
  const r = parseYamlFile(path, text);
  const diagnostics = r.diagnostics;
  if (!r.parsed) return { text, diagnostics };
  const v = r.parsed.value;
  if (v !== null && v !== undefined && (typeof v !== 'object' || Array.isArray(v))) {
    diagnostics.push(err('VMB_SCHEMA', { file: path, line: 1, col: 1 }, 'a policy file must be a mapping with vms, hypervisors, policies or settings'));
    return { text, diagnostics };
  }
  const schemaDiags = checkSchema(r.parsed);
  diagnostics.push(...schemaDiags);
  const flagged = new Set(schemaDiags.map((d) => d.field));
  const hits = findLiteralSecrets(v);
  for (const c of findCommentSecrets(text)) {
    const pos = r.parsed.lines.linePos(c.offset);
    diagnostics.push({ code: 'VMB_LITERAL_SECRET', severity: 'error', file: path, line: pos.line, col: pos.col, message: `a comment holds what looks like ${c.what}; secrets never live in the repo, comments included: remove it (and rotate the secret)` });
  }
  for (const hit of hits) {
    if (flagged.has(fieldName(hit.path))) continue;
    const pos = positionOf(r.parsed, hit.path);
    diagnostics.push({ code: 'VMB_LITERAL_SECRET', severity: 'error', file: path, line: pos.line, col: pos.col, field: fieldName(hit.path), message: `${fieldName(hit.path)}: looks like ${hit.what}; secrets never live in the repo: reference them with {env: NAME} or {credential: NAME}` });
  }
  // A file with schema errors still contributes what it can, so one run reports every problem.
  return { text, parsed: r.parsed, diagnostics, ...(hits.length ? { secretValues: hits.map((h) => stringAt(v, h.path) ?? '') } : {}) };
}

export function loadPolicyRepo(files: readonly PolicyFileText[], cache?: LoadCache): LoadResult {
  const diagnostics: Diagnostic[] = [];
  const parsed: ParsedFile[] = [];
  const secretValues = new Set<string>();
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) {
    if (f.refused) { diagnostics.push(refusedEntryDiagnostic(f.path, f.refused)); continue; }
    const hit = cache?.files.get(f.path);
    const r = hit && hit.text === f.text ? hit : checkFile(f.path, f.text);
    if (cache && r !== hit) cache.files.set(f.path, r);
    diagnostics.push(...r.diagnostics);
    for (const v of r.secretValues ?? []) secretValues.add(v);
    if (r.parsed) parsed.push(r.parsed);
  }
  const { collected, diagnostics: collectDiags } = collect(parsed);
  diagnostics.push(...collectDiags);
  diagnostics.push(...checkSecretRefs(collected));
  const settings = buildSettings(collected);
  const policies = buildPolicies(collected, settings, diagnostics);
  const hypervisors = buildHypervisors(collected, settings, collected.vms, diagnostics);
  const vms = buildVms(collected, settings, hypervisors, policies, diagnostics);
  if (settings.defaultPolicy && !policies.some((p) => p.name === settings.defaultPolicy)) {
    diagnostics.push(err('VMB_UNKNOWN_POLICY', collected.settings.get('default_policy')!.ref, `settings.default_policy "${settings.defaultPolicy}" is not defined${suggest(settings.defaultPolicy, policies.map((p) => p.name))}`, 'settings.default_policy'));
  }
  const digest = settings.notifications.slack?.digestSchedule;
  if (digest) {
    const r = normalizeSchedule(digest);
    if ('error' in r) diagnostics.push(err('VMB_BAD_SCHEDULE', collected.settings.get('notifications')!.ref, `notifications.slack.digest_schedule "${digest}": ${r.error}${scheduleWordHint(digest)}`, 'settings.notifications.slack.digest_schedule'));
  }
  const shown = hideSecretValues(diagnostics, secretValues).sort(byPosition);
  return { ok: !shown.some((d) => d.severity === 'error'), desired: { settings, hypervisors, policies, vms }, diagnostics: shown };
}

/** `path:line:col: severity: message [code]`, the format editors and CI annotate from. */
export function formatDiagnostic(d: Diagnostic): string {
  return escapeTerminal(`${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message} [${d.code}]`);
}
