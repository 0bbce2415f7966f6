// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per source
// file / package, so a benchmark miss can be pinned on `file:function`.
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface SelfTime { what: string; ms: number }
export interface ProfileSummary {
  totalMs: number;
  gcMs: number;
  /** Self time per function. */
  topFunctions: SelfTime[];
  topFiles: SelfTime[];
  byArea: SelfTime[];
  /** Inclusive (self + callees) time of the project's own functions (src/), recursion counted once. */
  srcInclusive: SelfTime[];
}

/** `file:///…/node_modules/yaml/dist/x.js` → `yaml/dist/x.js`; `file:///root/dist/src/core/a.js` → `src/core/a.js`. */
function shortUrl(url: string, root: string): string {
  if (!url) return '(native)';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(root)) u = u.slice(root.length).replace(/^\/+/, '');
  return u.replace(/^dist\//, '');
}

function area(file: string): string {
  if (file.startsWith('node:')) return 'node internals';
  if (file.startsWith('(')) return file;
  if (file.startsWith('src/') || file.startsWith('bench/')) return file.split('/').slice(0, 2).join('/');
  const parts = file.split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

const top = (m: Map<string, number>, n: number): SelfTime[] =>
  [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([what, ms]) => ({ what, ms: Math.round(ms * 10) / 10 }));

export function summarizeCpuProfile(path: string, root: string, n = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample; the interval after sample i belongs to it.
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
  }
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let gc = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    const ms = us / 1000;
    total += ms;
    if (cf.functionName === '(garbage collector)') gc += ms;
    if (cf.functionName === '(idle)') continue;
    const f = cf.url ? shortUrl(cf.url, root) : `(${cf.functionName.replace(/[()]/g, '') || 'native'})`;
    const name = `${f}:${cf.functionName || '(anonymous)'}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + ms);
    file.set(f, (file.get(f) ?? 0) + ms);
    const a = area(f);
    areas.set(a, (areas.get(a) ?? 0) + ms);
  }
  // Inclusive time of src/ functions: walk the call tree, crediting each node's subtree total to
  // every distinct src/ function on the stack above it (once, however deep the recursion).
  const keyOf = (cf: CallFrame): string | undefined => {
    const f = cf.url ? shortUrl(cf.url, root) : '';
    return f.startsWith('src/') ? `${f}:${cf.functionName || '(anonymous)'}:${cf.lineNumber + 1}` : undefined;
  };
  const incl = new Map<string, number>();
  const subtree = new Map<number, number>();
  const rootNode = p.nodes[0]!;
  // Iterative post-order for subtree sums (profiles can be deep).
  const order: ProfileNode[] = [];
  const stack: ProfileNode[] = [rootNode];
  while (stack.length) { const x = stack.pop()!; order.push(x); for (const c of x.children ?? []) stack.push(byId.get(c)!); }
  for (let i = order.length - 1; i >= 0; i--) {
    const x = order[i]!;
    let t = (selfUs.get(x.id) ?? 0) / 1000;
    for (const c of x.children ?? []) t += subtree.get(c) ?? 0;
    subtree.set(x.id, t);
  }
  const walk: { node: ProfileNode; active: Set<string> }[] = [{ node: rootNode, active: new Set() }];
  while (walk.length) {
    const { node, active } = walk.pop()!;
    const k = keyOf(node.callFrame);
    let next = active;
    if (k && !active.has(k)) {
      incl.set(k, (incl.get(k) ?? 0) + (subtree.get(node.id) ?? 0));
      next = new Set(active).add(k);
    }
    for (const c of node.children ?? []) walk.push({ node: byId.get(c)!, active: next });
  }
  return { totalMs: Math.round(total), gcMs: Math.round(gc), topFunctions: top(fn, n), topFiles: top(file, n), byArea: top(areas, n), srcInclusive: top(incl, n) };
}
