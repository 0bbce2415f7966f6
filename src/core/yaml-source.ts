// Parses one policy file with the yaml package so that every later diagnostic can point at
// `file:line:col`. Hostile input fails fast: size, nesting and alias bombs are refused before or
// while parsing, never by hanging. Positions are lazy: a parsed file keeps its text, JS value,
// line table and the few offsets every load needs (each top-level list item, each settings key);
// the yaml Document is dropped and re-parsed only when a diagnostic needs a deeper position.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { Diagnostic } from './model.js';

export const LIMITS = {
  /** Bytes per file. The 10,000-VM benchmark repo is about 2 MiB in all. */
  maxFileBytes: 16 * 1024 * 1024,
  /** Flow ([ { ) or block (indentation) depth; real policy files stay under 10. */
  maxDepth: 64,
  /** yaml's own guard against billion-laughs alias expansion. */
  maxAliasCount: 100,
} as const;

export interface ParsedFile {
  file: string;
  text: string;
  value: unknown;
  lines: LineCounter;
  /** Offset of each item of a top-level list (`vms`, `hypervisors`, `policies`), by index. */
  items: Map<string, number[]>;
  /** Offset of each `settings` key. */
  settingsKeys: Map<string, number>;
  /** Re-parsed on demand by positionOf (error paths only), then kept. */
  doc?: Document.Parsed;
}

const LIST_KEYS = ['vms', 'hypervisors', 'policies'];
const PARSE_OPTIONS = { uniqueKeys: true, prettyErrors: false, strict: true } as const;

export type PathSegment = string | number;

/** One pass over the text, cheaper than parsing: refuses absurd nesting before the parser sees it. */
export function nestingDepth(text: string): number {
  let flow = 0;
  let max = 0;
  let quote = '';
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) { lineStart = true; indent = 0; continue; }
    if (lineStart) {
      if (c === 32) { indent++; continue; }
      lineStart = false;
      const blockDepth = indent >> 1;
      if (blockDepth > max) max = blockDepth;
    }
    if (quote) {
      if (text[i] === quote) quote = '';
      continue;
    }
    if (c === 35 /* # */ && (i === 0 || text.charCodeAt(i - 1) === 32)) {
      while (i + 1 < text.length && text.charCodeAt(i + 1) !== 10) i++;
      continue;
    }
    if (c === 34 || c === 39) { if (flow > 0) quote = text[i]!; continue; }
    if (c === 91 || c === 123) { flow++; if (flow > max) max = flow; }
    else if (c === 93 || c === 125) { if (flow > 0) flow--; }
  }
  return max;
}

function diag(file: string, code: string, message: string, line = 1, col = 1): Diagnostic {
  return { code, severity: 'error', file, line, col, message };
}

/** `duplicate key "hypervisor" in one mapping`: the key found by the offset the parser reports. */
function duplicateKeyMessage(doc: Document.Parsed, offset: number): string {
  let key: unknown;
  visit(doc, { Pair(_, pair) {
    const k = pair.key as Node | null;
    if (k && k.range?.[0] === offset) { key = isScalar(k) ? k.value : String(k); return visit.BREAK; }
    return undefined;
  } });
  if (key === undefined) return 'duplicate key in one mapping';
  const name = String(key);
  return `duplicate key ${JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name)} in one mapping`;
}

/** Parse one file; returns either the parsed file or diagnostics (never throws). */
export function parseYamlFile(file: string, text: string): { parsed?: ParsedFile; diagnostics: Diagnostic[] } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > LIMITS.maxFileBytes) {
    return { diagnostics: [diag(file, 'VMB_YAML_TOO_LARGE', `file is ${bytes} bytes; the limit is ${LIMITS.maxFileBytes}`)] };
  }
  const depth = nestingDepth(text);
  if (depth > LIMITS.maxDepth) {
    return { diagnostics: [diag(file, 'VMB_YAML_TOO_DEEP', `nesting depth ${depth} exceeds the limit of ${LIMITS.maxDepth}`)] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...PARSE_OPTIONS, lineCounter: lines });
  const diagnostics: Diagnostic[] = [];
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    const code = e.code === 'DUPLICATE_KEY' ? 'VMB_YAML_DUPLICATE_KEY' : 'VMB_YAML_SYNTAX';
    const msg = e.code === 'DUPLICATE_KEY' ? duplicateKeyMessage(doc, e.pos[0]) : e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    diagnostics.push(diag(file, code, msg, pos.line, pos.col));
  }
  if (diagnostics.length) return { diagnostics };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: LIMITS.maxAliasCount });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const code = /alias/i.test(msg) ? 'VMB_YAML_ALIAS_BOMB' : 'VMB_YAML_SYNTAX';
    return { diagnostics: [diag(file, code, msg)] };
  }
  return { parsed: { file, text, value, lines, ...eagerOffsets(doc, value) }, diagnostics };
}

/** The positions every load asks for, taken from the Document before it is dropped. */
function eagerOffsets(doc: Document.Parsed, value: unknown): Pick<ParsedFile, 'items' | 'settingsKeys'> {
  const items = new Map<string, number[]>();
  const settingsKeys = new Map<string, number>();
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { items, settingsKeys };
  const top = value as Record<string, unknown>;
  for (const kind of LIST_KEYS) {
    const list = top[kind];
    if (Array.isArray(list)) items.set(kind, list.map((_, i) => offsetOf(nodeAt(doc, [kind, i], false))));
  }
  const s = top.settings;
  if (s && typeof s === 'object' && !Array.isArray(s)) {
    for (const k of Object.keys(s)) settingsKeys.set(k, offsetOf(nodeAt(doc, ['settings', k], true)));
  }
  return { items, settingsKeys };
}

const offsetOf = (node: Node | null): number => node?.range?.[0] ?? 0;

/** The node at a path (map keys and seq indexes), or the deepest existing ancestor. */
function nodeAt(doc: Document.Parsed, path: readonly PathSegment[], wantKey: boolean): Node | null {
  let node: unknown = doc.contents;
  let keyNode: Node | null = null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) return (node as Node);
      keyNode = pair.key as Node;
      if (pair.value === null || pair.value === undefined) return keyNode;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return node as Node;
      keyNode = null;
      node = item;
    } else {
      break;
    }
  }
  if (wantKey && keyNode) return keyNode;
  return (node as Node) ?? null;
}

/** Line and column (1-based) of the value at `path`, or of its key when `wantKey`. */
export function positionOf(p: ParsedFile, path: readonly PathSegment[], wantKey = false): { line: number; col: number } {
  let offset: number | undefined;
  const [head, index] = path;
  if (path.length === 2 && typeof head === 'string') {
    if (!wantKey && typeof index === 'number') offset = p.items.get(head)?.[index];
    else if (wantKey && head === 'settings' && typeof index === 'string') offset = p.settingsKeys.get(index);
  }
  if (offset === undefined) {
    // Same text, same options: the same node ranges as the first parse.
    p.doc ??= parseDocument(p.text, PARSE_OPTIONS);
    offset = offsetOf(nodeAt(p.doc, path, wantKey));
  }
  return p.lines.linePos(offset);
}
