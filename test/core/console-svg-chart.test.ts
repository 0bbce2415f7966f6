// The storage page's server-side SVG charts: well-formed, escaped, scaled, and empty-safe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barChart, escapeXml, lineChart } from '../../src/core/console/svg-chart.js';

const GiB = 2 ** 30;

test('line chart: one path point per sample, scaled to the larger of the data and the limit line', () => {
  const svg = lineChart([{ label: '2026-12-01', value: 100 * GiB }, { label: '2026-12-02', value: 150 * GiB }, { label: '2026-12-03', value: 200 * GiB }], { title: 'Used', width: 400, height: 200, limit: 400 * GiB });
  assert.match(svg, /^<svg [^>]*viewBox="0 0 400 200"/);
  assert.ok(svg.endsWith('</svg>'));
  const d = /<path d="([^"]+)"/.exec(svg)![1]!;
  assert.equal(d.split(' ').length, 3);
  assert.match(svg, />400.0 GiB</);   // y-axis max is the limit
  assert.match(svg, /class="chart-limit"/);
  assert.match(svg, /<title>2026-12-03: 200.0 GiB<\/title>/);
  assert.doesNotMatch(svg, /NaN|Infinity|style=/);
});

test('bar chart: largest first, the tail summed as "others", hostile labels escaped', () => {
  const bars = Array.from({ length: 5 }, (_, i) => ({ label: `vm${i}`, value: (i + 1) * GiB }));
  const svg = barChart([...bars, { label: '<b>"x"</b>', value: 10 * GiB }], { title: 'Per VM & more', max: 4 });
  assert.match(svg, /<title>Per VM &amp; more<\/title>/);
  const labels = [...svg.matchAll(/<g><title>([^<]+)<\/title>/g)].map((m) => m[1]);
  assert.deepEqual(labels, ['&lt;b&gt;&quot;x&quot;&lt;/b&gt;: 10.0 GiB', 'vm4: 5.0 GiB', 'vm3: 4.0 GiB', '3 others: 6.0 GiB']);
  assert.doesNotMatch(svg, /<b>/);
});

test('empty data says so instead of drawing nothing', () => {
  assert.match(lineChart([], { title: 't' }), /no data yet/);
  assert.match(barChart([], { title: 't' }), /no data yet/);
  assert.match(lineChart([{ label: 'd', value: 0 }], { title: 't' }), /<path d="M/);
  assert.equal(escapeXml(`<&>"'`), '&lt;&amp;&gt;&quot;&#39;');
});
