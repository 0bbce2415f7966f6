// Checks parsed YAML against the published JSON Schema (draft 2020-12). The schema is compiled
// once per process, as fastify does; ajv errors become file:line:col diagnostics with hints.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { closest, distance } from 'fastest-levenshtein';
import schema from '../../schemas/policy-file.schema.json' with { type: 'json' };
import type { Diagnostic } from './model.js';
import { positionOf, type ParsedFile, type PathSegment } from './yaml-source.js';

let compiled: ValidateFunction | undefined;

/** Compile lazily, exactly once: compiling costs ~30 ms, validating a file microseconds. */
export function policyFileValidator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    const addFormats = addFormatsModule as unknown as (a: Ajv2020, f: string[]) => void;
    addFormats(ajv, ['email']);
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** Turns `/vms/3/retention` into ['vms', 3, 'retention']. */
export function pointerToPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => {
    const u = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(u) ? Number(u) : u;
  });
}

/** `vms[3].retention.keep_daily`: the field as a reader would name it. */
export function fieldName(path: readonly PathSegment[]): string {
  let out = '';
  for (const s of path) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  return out || '(top level)';
}

/** A "did you mean" hint when a close candidate exists (edit distance ≤ 1/3 of the word). */
export function suggest(word: string, candidates: readonly string[]): string {
  if (!candidates.length) return '';
  const best = closest(word, candidates as string[]);
  return distance(word, best) <= Math.max(2, Math.ceil(word.length / 3)) ? `; did you mean "${best}"?` : '';
}

function messageFor(e: ErrorObject, data: unknown): { text: string; extraPath?: string; atKey?: boolean } {
  const parent = (e.parentSchema ?? {}) as { properties?: Record<string, unknown>; enum?: unknown[] };
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys(parent.properties ?? {});
      return { text: `unknown key "${key}"${suggest(key, known)}`, extraPath: key, atKey: true };
    }
    case 'enum': {
      const allowed = (parent.enum ?? []).map(String);
      return { text: `must be one of ${allowed.join(', ')}${typeof data === 'string' ? suggest(data, allowed) : ''}` };
    }
    case 'required':
      return { text: `missing required key "${(e.params as { missingProperty: string }).missingProperty}"` };
    case 'pattern':
      if (e.schemaPath.includes('/$defs/name/')) {
        return { text: `invalid name ${JSON.stringify(data)}: use letters, digits, '.', '_' and '-' only (it becomes a path, a Bacula resource name and an ssh argument)` };
      }
      return { text: `${JSON.stringify(data)} does not match the expected format ${(e.params as { pattern: string }).pattern}` };
    case 'type':
      if (e.schemaPath.includes('/$defs/secret/')) {
        return { text: 'secrets are never written in the repo: use {env: NAME} or {credential: NAME}' };
      }
      return { text: `must be ${(e.params as { type: string }).type}` };
    default:
      return { text: e.message ?? e.keyword };
  }
}

function dataAt(value: unknown, path: readonly PathSegment[]): unknown {
  let v: unknown = value;
  for (const s of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[s as string] : undefined;
  return v;
}

/** Schema diagnostics for one parsed file; noise from oneOf branches is folded into one line per field. */
export function checkSchema(p: ParsedFile): Diagnostic[] {
  const validate = policyFileValidator();
  if (validate(p.value === null || p.value === undefined ? {} : p.value)) return [];
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const path = pointerToPath(e.instancePath);
    const data = dataAt(p.value, path);
    const m = messageFor(e, data);
    const full = m.extraPath !== undefined ? [...path, m.extraPath] : path;
    const key = `${fieldName(full)}|${e.keyword === 'additionalProperties' ? m.text : ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const pos = positionOf(p, full, m.atKey ?? false);
    out.push({ code: e.keyword === 'additionalProperties' ? 'VMB_UNKNOWN_KEY' : 'VMB_SCHEMA', severity: 'error', file: p.file, line: pos.line, col: pos.col, field: fieldName(full), message: `${fieldName(full)}: ${m.text}` });
  }
  return out;
}
