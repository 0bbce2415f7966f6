// Prometheus text exposition format (version 0.0.4) from plain data: counters, gauges and
// histograms. Pure: no I/O, no clock, no global registry; the caller owns the numbers.
// Spec: https://prometheus.io/docs/instrumenting/exposition_formats/

export type Labels = Readonly<Record<string, string>>;

export interface Sample { readonly labels: Labels; readonly value: number }

/** One histogram series. `bounds` are the finite upper bounds, ascending; `counts[i]` is how
 *  many observations fell in (bounds[i-1], bounds[i]] and the last entry counts those above
 *  every bound (the +Inf bucket minus the rest). Rendering makes them cumulative. */
export interface HistogramSeries {
  readonly labels: Labels;
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export type MetricFamily =
  | { readonly type: 'counter' | 'gauge'; readonly name: string; readonly help: string; readonly samples: readonly Sample[] }
  | { readonly type: 'histogram'; readonly name: string; readonly help: string; readonly series: readonly HistogramSeries[] };

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** Problems with the names in a family (names come from code: a problem is a bug, not input). */
export function familyProblems(f: MetricFamily): string[] {
  const out: string[] = [];
  if (!METRIC_NAME.test(f.name)) out.push(`${f.name}: invalid metric name`);
  if (f.type === 'counter' && !f.name.endsWith('_total')) out.push(`${f.name}: a counter's name ends in _total`);
  if (f.type === 'histogram' && HISTOGRAM_SUFFIXES.some((s) => f.name.endsWith(s))) out.push(`${f.name}: a histogram's base name has no ${HISTOGRAM_SUFFIXES.join('/')} suffix`);
  const labelSets = f.type === 'histogram' ? f.series.map((s) => s.labels) : f.samples.map((s) => s.labels);
  for (const labels of labelSets) {
    for (const k of Object.keys(labels)) {
      if (!LABEL_NAME.test(k) || k.startsWith('__')) out.push(`${f.name}: invalid label name ${JSON.stringify(k)}`);
      if (f.type === 'histogram' && k === 'le') out.push(`${f.name}: label "le" is reserved for histogram buckets`);
    }
  }
  if (f.type === 'histogram') {
    for (const s of f.series) {
      if (s.counts.length !== s.bounds.length + 1) out.push(`${f.name}: counts must have one entry per bound plus +Inf`);
      if (s.bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= s.bounds[i - 1]!))) out.push(`${f.name}: bounds must be finite and ascending`);
    }
  }
  return out;
}

/** Label values may hold anything: backslash, double quote and newline are escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes only backslash and newline. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.keys(labels).sort().map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

/** A stable key for a label set, for sorting and for maps keyed by series. */
export function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}\u0000${labels[k]}`).join('\u0001');
}

function bySeries<T extends { labels: Labels }>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => (labelKey(a.labels) < labelKey(b.labels) ? -1 : labelKey(a.labels) > labelKey(b.labels) ? 1 : 0));
}

function renderHistogram(name: string, s: HistogramSeries): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  s.bounds.forEach((b, i) => {
    cumulative += s.counts[i] ?? 0;
    lines.push(`${name}_bucket${formatLabels(s.labels, ['le', formatValue(b)])} ${cumulative}`);
  });
  lines.push(`${name}_bucket${formatLabels(s.labels, ['le', '+Inf'])} ${s.count}`);
  lines.push(`${name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}`);
  lines.push(`${name}_count${formatLabels(s.labels)} ${s.count}`);
  return lines;
}

/**
 * The exposition text: per family `# HELP`, `# TYPE`, then its samples sorted by labels, so the
 * output is deterministic. A family without samples still gets HELP/TYPE. Throws on a bad
 * metric or label name (a programming error); label values are data and are only escaped.
 */
export function renderExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    const problems = familyProblems(f);
    if (seen.has(f.name)) problems.push(`${f.name}: defined twice`);
    if (problems.length) throw new TypeError(problems.join('; '));
    seen.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type === 'histogram') for (const s of bySeries(f.series)) lines.push(...renderHistogram(f.name, s));
    else for (const s of bySeries(f.samples)) lines.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

// Histogram arithmetic, as values: observe() returns a new series.

export function emptyHistogram(bounds: readonly number[], labels: Labels = {}): HistogramSeries {
  return { labels, bounds: [...bounds], counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

export function observe(h: HistogramSeries, value: number): HistogramSeries {
  let i = h.bounds.findIndex((b) => value <= b);
  if (i < 0) i = h.bounds.length;
  const counts = h.counts.map((c, j) => (j === i ? c + 1 : c));
  return { ...h, counts, sum: h.sum + value, count: h.count + 1 };
}

/** Default buckets for durations in seconds: 100 ms to 1 h. */
export const DURATION_BUCKETS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
