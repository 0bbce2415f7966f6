// Server-side SVG charts for the console's storage page (no script, no inline style: CSP-safe).
// Pure: data in, markup out; every text is XML-escaped, every number is finite and rounded.
import { humanBytes } from '../status-format.js';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const num = (n: number): string => (Number.isFinite(n) ? String(Math.round(n * 10) / 10) : '0');

export interface LinePoint { label: string; value: number }
export interface ChartOptions { title: string; width?: number; height?: number; format?: (v: number) => string; limit?: number }

/** A line chart of values over time (oldest first), with the y-axis maximum and an optional limit line. */
export function lineChart(points: LinePoint[], o: ChartOptions): string {
  const w = o.width ?? 640, h = o.height ?? 220, pad = { l: 70, r: 16, t: 28, b: 34 };
  const fmt = o.format ?? humanBytes;
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}"><title>${escapeXml(o.title)}</title>`;
  const title = `<text x="${pad.l}" y="18" class="chart-title">${escapeXml(o.title)}</text>`;
  if (!points.length) return `${head}${title}<text x="${pad.l}" y="${h / 2}" class="chart-empty">no data yet</text></svg>`;
  const max = Math.max(1, o.limit ?? 0, ...points.map((p) => p.value));
  const iw = w - pad.l - pad.r, ih = h - pad.t - pad.b;
  const x = (i: number): number => pad.l + (points.length === 1 ? iw / 2 : (i * iw) / (points.length - 1));
  const y = (v: number): number => pad.t + ih - (Math.max(0, v) / max) * ih;
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${num(x(i))},${num(y(p.value))}`).join(' ');
  const dots = points.map((p, i) => `<circle cx="${num(x(i))}" cy="${num(y(p.value))}" r="3" class="chart-dot"><title>${escapeXml(`${p.label}: ${fmt(p.value)}`)}</title></circle>`).join('');
  const axes = `<line x1="${pad.l}" y1="${pad.t + ih}" x2="${w - pad.r}" y2="${pad.t + ih}" class="chart-axis"/><line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${pad.t + ih}" class="chart-axis"/>`;
  const yLabels = `<text x="${pad.l - 6}" y="${pad.t + 4}" class="chart-label" text-anchor="end">${escapeXml(fmt(max))}</text><text x="${pad.l - 6}" y="${pad.t + ih}" class="chart-label" text-anchor="end">0</text>`;
  const first = points[0]!, last = points[points.length - 1]!;
  const xLabels = `<text x="${pad.l}" y="${h - 10}" class="chart-label">${escapeXml(first.label)}</text>${points.length > 1 ? `<text x="${w - pad.r}" y="${h - 10}" class="chart-label" text-anchor="end">${escapeXml(last.label)}</text>` : ''}`;
  const limit = o.limit !== undefined ? `<line x1="${pad.l}" y1="${num(y(o.limit))}" x2="${w - pad.r}" y2="${num(y(o.limit))}" class="chart-limit"><title>${escapeXml(`limit ${fmt(o.limit)}`)}</title></line>` : '';
  return `${head}${title}${axes}${limit}<path d="${path}" class="chart-line" fill="none"/>${dots}${yLabels}${xLabels}</svg>`;
}

export interface Bar { label: string; value: number }

/** Horizontal bars, largest first, each labelled with its value; at most `max` bars (the rest summed as "others"). */
export function barChart(bars: Bar[], o: ChartOptions & { max?: number }): string {
  const fmt = o.format ?? humanBytes;
  const sorted = [...bars].sort((a, b) => b.value - a.value || (a.label < b.label ? -1 : 1));
  const cap = o.max ?? 20;
  const shown = sorted.length > cap ? [...sorted.slice(0, cap - 1), { label: `${sorted.length - cap + 1} others`, value: sorted.slice(cap - 1).reduce((s, b) => s + b.value, 0) }] : sorted;
  const w = o.width ?? 640, rowH = 22, top = 28, labelW = 180, valueW = 90;
  const h = top + Math.max(1, shown.length) * rowH + 8;
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}"><title>${escapeXml(o.title)}</title><text x="0" y="18" class="chart-title">${escapeXml(o.title)}</text>`;
  if (!shown.length) return `${head}<text x="0" y="${top + 14}" class="chart-empty">no data yet</text></svg>`;
  const max = Math.max(1, ...shown.map((b) => b.value));
  const iw = w - labelW - valueW;
  const rows = shown.map((b, i) => {
    const yy = top + i * rowH;
    const bw = Math.max(1, (Math.max(0, b.value) / max) * iw);
    const label = b.label.length > 26 ? `${b.label.slice(0, 25)}…` : b.label;
    return `<g><title>${escapeXml(`${b.label}: ${fmt(b.value)}`)}</title><text x="0" y="${yy + 15}" class="chart-label">${escapeXml(label)}</text><rect x="${labelW}" y="${yy + 3}" width="${num(bw)}" height="${rowH - 6}" class="chart-bar"/><text x="${num(labelW + bw + 6)}" y="${yy + 15}" class="chart-label">${escapeXml(fmt(b.value))}</text></g>`;
  }).join('');
  return `${head}${rows}</svg>`;
}
