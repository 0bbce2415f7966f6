// Gathers the top-level lists and settings of every parsed file into one bag of raw items, each
// remembering where it was written, and reports names or settings defined twice (naming both places).
import type { Diagnostic, SourceRef } from './model.js';
import { positionOf, type ParsedFile, type PathSegment } from './yaml-source.js';

export type Kind = 'vms' | 'hypervisors' | 'policies';
export const KIND_NOUN: Record<Kind, string> = { vms: 'VM', hypervisors: 'hypervisor', policies: 'policy' };

export interface RawItem {
  data: Record<string, unknown>;
  ref: SourceRef;
  file: ParsedFile;
  path: PathSegment[];
}

export interface Collected {
  vms: RawItem[];
  hypervisors: RawItem[];
  policies: RawItem[];
  /** VMs whose name was already taken: still checked field by field, never part of the desired state. */
  duplicateVms: RawItem[];
  /** settings keys merged across files; each key remembers its own file. */
  settings: Map<string, RawItem>;
}

/** Position of a field inside an item, for a diagnostic. */
export function refAt(item: RawItem, sub: readonly PathSegment[] = [], atKey = false): SourceRef {
  const pos = positionOf(item.file, [...item.path, ...sub], atKey);
  return { file: item.file.file, line: pos.line, col: pos.col };
}

export function where(r: SourceRef): string {
  return `${r.file}:${r.line}:${r.col}`;
}

export function err(code: string, ref: SourceRef, message: string, field?: string): Diagnostic {
  return { code, severity: 'error', file: ref.file, line: ref.line, col: ref.col, message, ...(field ? { field } : {}) };
}

/** Files must arrive sorted by path so that "first definition" is stable whatever the disk order. */
export function collect(files: readonly ParsedFile[]): { collected: Collected; diagnostics: Diagnostic[] } {
  const c: Collected = { vms: [], hypervisors: [], policies: [], duplicateVms: [], settings: new Map() };
  const diagnostics: Diagnostic[] = [];
  const firstByName: Record<Kind, Map<string, RawItem>> = { vms: new Map(), hypervisors: new Map(), policies: new Map() };
  for (const f of files) {
    const top = f.value;
    if (!top || typeof top !== 'object' || Array.isArray(top)) continue;
    const obj = top as Record<string, unknown>;
    for (const kind of ['hypervisors', 'policies', 'vms'] as const) {
      const list = obj[kind];
      if (!Array.isArray(list)) continue;
      list.forEach((data, i) => {
        if (!data || typeof data !== 'object' || Array.isArray(data)) return;
        const path = [kind, i];
        const pos = positionOf(f, path);
        const item: RawItem = { data: data as Record<string, unknown>, ref: { file: f.file, line: pos.line, col: pos.col }, file: f, path };
        const name = item.data.name;
        if (typeof name === 'string') {
          const first = firstByName[kind].get(name);
          if (first) {
            diagnostics.push(err('VMB_DUPLICATE_NAME', refAt(item, ['name']), `duplicate ${KIND_NOUN[kind]} name "${name}" (first defined at ${where(refAt(first, ['name']))})`, `${kind}[${i}].name`));
            if (kind === 'vms') c.duplicateVms.push(item);
            return;
          }
          firstByName[kind].set(name, item);
        }
        c[kind].push(item);
      });
    }
    const s = obj.settings;
    if (s && typeof s === 'object' && !Array.isArray(s)) {
      for (const [k, v] of Object.entries(s)) {
        const item: RawItem = { data: { [k]: v }, ref: { file: f.file, line: 0, col: 0 }, file: f, path: ['settings'] };
        item.ref = refAt(item, [k], true);
        const first = c.settings.get(k);
        if (first) {
          diagnostics.push(err('VMB_DUPLICATE_SETTING', item.ref, `settings.${k} is set twice (first at ${where(first.ref)})`, `settings.${k}`));
          continue;
        }
        c.settings.set(k, item);
      }
    }
  }
  return { collected: c, diagnostics };
}
