// A unified diff (the layout of jsdiff's createTwoFilesPatch: `===` underline, `---`/`+++`
// headers, `@@ -a,b +c,d @@` hunks) of two large rendered files, computed in near-linear time.
// The rendered files are paragraphs separated by blank lines (one Bacula resource each), so the
// paragraphs are diffed first and lines only inside the runs of paragraphs that changed. Every
// Myers diff is bounded; past the bound the runs are paired in order, which stays a correct
// (if less minimal) diff. Pure: no I/O.
import { diffArrays } from 'diff';

/** Edits allowed in the one paragraph-level Myers diff (about 0.5 s when exceeded, then runs pair up). */
const MAX_BLOCK_EDITS = 2000;
/** Larger runs of changed paragraphs are diffed paragraph by paragraph. */
const MAX_RUN_LINES = 5000;
/** Edits allowed in a line-level Myers diff of n lines: its D² work stays within 16·n. */
const editBound = (n: number): number => Math.min(2000, Math.ceil(4 * Math.sqrt(n)) + 8);
const UNDERLINE = '='.repeat(67);

/** A run of equal lines: its length, its first min(n, 2·context) and last min(n, context) lines. */
interface Equal { eq: true; count: number; head: string[]; tail: string[] }
interface Change { eq: false; sign: '-' | '+'; lines: string[] }
type Seg = Equal | Change;

/** Lines with their `\n` kept (the last one may lack it), as jsdiff tokenizes them. */
export function splitLines(s: string): string[] {
  const out: string[] = [];
  let p = 0;
  while (p < s.length) {
    const q = s.indexOf('\n', p);
    if (q < 0) { out.push(s.slice(p)); break; }
    out.push(s.slice(p, q + 1));
    p = q + 1;
  }
  return out;
}

/** Paragraphs: each ends just after a blank line (or at the end of the text). */
export function splitBlocks(s: string): string[] {
  const out: string[] = [];
  let p = 0;
  while (p < s.length) {
    let end: number;
    if (s.charCodeAt(p) === 10) end = p + 1;
    else { const q = s.indexOf('\n\n', p); end = q < 0 ? s.length : q + 2; }
    out.push(s.slice(p, end));
    p = end;
  }
  return out;
}

function lineCount(block: string): number {
  let n = 0;
  for (let q = block.indexOf('\n'); q >= 0; q = block.indexOf('\n', q + 1)) n++;
  return block.charCodeAt(block.length - 1) === 10 ? n : n + 1;
}

/** Collects the edit script, merging adjacent equal runs so hunks get their full context. */
class Script {
  readonly segs: Seg[] = [];
  constructor(private readonly context: number) {}

  equal(count: number, head: string[], tail: string[]): void {
    if (count === 0) return;
    const last = this.segs[this.segs.length - 1];
    if (!last || !last.eq) { this.segs.push({ eq: true, count, head, tail }); return; }
    const c = this.context;
    if (last.head.length < 2 * c) last.head = last.head.concat(head).slice(0, 2 * c);
    last.tail = count >= c ? tail : last.tail.concat(tail).slice(-c);
    last.count += count;
  }

  equalLines(lines: string[]): void {
    this.equal(lines.length, lines.slice(0, 2 * this.context), this.context ? lines.slice(-this.context) : []);
  }

  /** Equal blocks [from, to): only the lines next to their ends are split out. */
  equalBlocks(blocks: readonly string[], counts: readonly number[], from: number, to: number): void {
    const c = this.context;
    let count = 0;
    for (let i = from; i < to; i++) count += counts[i]!;
    const head: string[] = [];
    for (let i = from; i < to && head.length < 2 * c; i++) head.push(...splitLines(blocks[i]!));
    let tail: string[] = [];
    for (let i = to - 1; i >= from && tail.length < c; i--) tail = splitLines(blocks[i]!).concat(tail);
    this.equal(count, head.slice(0, 2 * c), c ? tail.slice(-c) : []);
  }

  change(sign: '-' | '+', lines: string[]): void {
    if (lines.length) this.segs.push({ eq: false, sign, lines });
  }
}

/** Line diff of two token lists (common ends trimmed first); false if over `maxEdits`. */
function diffLinesInto(s: Script, a: string[], b: string[], maxEdits: number): boolean {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const d = am.length && bm.length ? diffArrays(am, bm, { maxEditLength: maxEdits }) : [];
  if (!d) return false;
  s.equalLines(a.slice(0, pre));
  if (!am.length || !bm.length) { s.change('-', am); s.change('+', bm); }
  for (const c of d) {
    if (c.removed) s.change('-', c.value);
    else if (c.added) s.change('+', c.value);
    else s.equalLines(c.value);
  }
  s.equalLines(a.slice(a.length - suf));
  return true;
}

/** A run of changed blocks: one line diff if small enough, else block by block in order. */
function diffRun(s: Script, ra: readonly string[], rb: readonly string[]): void {
  const la = ra.flatMap(splitLines);
  const lb = rb.flatMap(splitLines);
  if (!la.length || !lb.length) { s.change('-', la); s.change('+', lb); return; }
  if (la.length + lb.length <= MAX_RUN_LINES && diffLinesInto(s, la, lb, editBound(la.length + lb.length))) return;
  for (let i = 0; i < Math.max(ra.length, rb.length); i++) {
    const x = i < ra.length ? splitLines(ra[i]!) : [];
    const y = i < rb.length ? splitLines(rb[i]!) : [];
    if (!x.length || !y.length || !diffLinesInto(s, x, y, editBound(x.length + y.length))) { s.change('-', x); s.change('+', y); }
  }
}

/** The edit script between two texts, block level first. */
function editScript(oldText: string, newText: string, context: number): Seg[] {
  const a = splitBlocks(oldText);
  const b = splitBlocks(newText);
  const ca = a.map(lineCount);
  const ids = new Map<string, number>();
  const idOf = (x: string): number => { let v = ids.get(x); if (v === undefined) { v = ids.size; ids.set(x, v); } return v; };
  const ai = a.map(idOf);
  const bi = b.map(idOf);
  let pre = 0;
  while (pre < ai.length && pre < bi.length && ai[pre] === bi[pre]) pre++;
  let suf = 0;
  while (suf < ai.length - pre && suf < bi.length - pre && ai[ai.length - 1 - suf] === bi[bi.length - 1 - suf]) suf++;
  const am = ai.slice(pre, ai.length - suf);
  const bm = bi.slice(pre, bi.length - suf);
  const s = new Script(context);
  s.equalBlocks(a, ca, 0, pre);
  const parts = (am.length && bm.length ? diffArrays(am, bm, { maxEditLength: MAX_BLOCK_EDITS }) : undefined)
    ?? [{ removed: true, added: false, count: am.length, value: am }, { removed: false, added: true, count: bm.length, value: bm }];
  let ia = pre;
  let ib = pre;
  let runA = ia;
  let runB = ib;
  const flush = (): void => {
    if (ia > runA || ib > runB) diffRun(s, a.slice(runA, ia), b.slice(runB, ib));
  };
  for (const p of parts) {
    if (p.removed) ia += p.count ?? p.value.length;
    else if (p.added) ib += p.count ?? p.value.length;
    else {
      flush();
      const n = p.count ?? p.value.length;
      s.equalBlocks(a, ca, ia, ia + n);
      ia += n;
      ib += n;
      runA = ia;
      runB = ib;
    }
  }
  flush();
  s.equalBlocks(a, ca, ia, a.length);
  return s.segs;
}

interface Hunk { oldStart: number; oldLines: number; newStart: number; newLines: number; lines: string[] }

/** Groups the script into hunks exactly as jsdiff's structuredPatch does. */
function toHunks(segs: readonly Seg[], context: number): Hunk[] {
  const hunks: Hunk[] = [];
  let oldLine = 1;
  let newLine = 1;
  let open = false;
  let oldStart = 0;
  let newStart = 0;
  let cur: string[] = [];
  const close = (extra: number): void => {
    hunks.push({ oldStart, oldLines: oldLine - oldStart + extra, newStart, newLines: newLine - newStart + extra, lines: cur });
    open = false;
    cur = [];
  };
  segs.forEach((seg, i) => {
    if (!seg.eq) {
      if (!open) {
        open = true;
        oldStart = oldLine;
        newStart = newLine;
        const prev = segs[i - 1];
        if (prev?.eq && context > 0) {
          for (const l of prev.tail) cur.push(' ' + l);
          oldStart -= prev.tail.length;
          newStart -= prev.tail.length;
        }
      }
      for (const l of seg.lines) cur.push(seg.sign + l);
      if (seg.sign === '+') newLine += seg.lines.length;
      else oldLine += seg.lines.length;
      return;
    }
    if (open) {
      if (seg.count <= context * 2 && i < segs.length - 1) {
        for (const l of seg.head) cur.push(' ' + l);
      } else {
        const n = Math.min(seg.count, context);
        for (const l of seg.head.slice(0, n)) cur.push(' ' + l);
        close(n);
      }
    }
    oldLine += seg.count;
    newLine += seg.count;
  });
  if (open) close(0);
  return hunks;
}

/**
 * `createTwoFilesPatch(oldName, newName, oldText, newText, oldHeader, newHeader, { context })`
 * of jsdiff, same text layout; hunks may be split differently where several minimal diffs exist.
 */
export function unifiedDiff(oldName: string, newName: string, oldText: string, newText: string, oldHeader?: string, newHeader?: string, context = 3): string {
  const out = [UNDERLINE, `--- ${oldName}${oldHeader === undefined ? '' : '\t' + oldHeader}`, `+++ ${newName}${newHeader === undefined ? '' : '\t' + newHeader}`];
  for (const h of toHunks(editScript(oldText, newText, context), context)) {
    out.push(`@@ -${h.oldLines === 0 ? h.oldStart - 1 : h.oldStart},${h.oldLines} +${h.newLines === 0 ? h.newStart - 1 : h.newStart},${h.newLines} @@`);
    for (const l of h.lines) {
      if (l.endsWith('\n')) out.push(l.slice(0, -1));
      else out.push(l, '\\ No newline at end of file');
    }
  }
  return out.join('\n') + '\n';
}
