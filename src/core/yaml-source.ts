// Parses one policy file with the yaml package, keeping node positions so that every later
// diagnostic can point at `file:line:col`. Hostile input fails fast: size, nesting and alias
// bombs are refused before or while parsing, never by hanging.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
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
  value: unknown;
  doc: Document.Parsed;
  lines: LineCounter;
}

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
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  const diagnostics: Diagnostic[] = [];
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    const code = e.code === 'DUPLICATE_KEY' ? 'VMB_YAML_DUPLICATE_KEY' : 'VMB_YAML_SYNTAX';
    const msg = e.code === 'DUPLICATE_KEY' ? 'duplicate key in one mapping' : e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
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
  return { parsed: { file, value, doc, lines }, diagnostics };
}

/** The node at a path (map keys and seq indexes), or the deepest existing ancestor. */
function nodeAt(p: ParsedFile, path: readonly PathSegment[], wantKey: boolean): Node | null {
  let node: unknown = p.doc.contents;
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
  const node = nodeAt(p, path, wantKey);
  const offset = node?.range?.[0] ?? 0;
  return p.lines.linePos(offset);
}
