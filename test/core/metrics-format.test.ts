import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyHistogram, escapeLabelValue, familyProblems, observe, renderExposition, type MetricFamily } from '../../src/core/metrics.js';
import { METRICS, METRIC_NAMES, MetricsRegistry } from '../../src/adapters/http/metrics-registry.js';

// A strict reader of the text format, written from the spec, independent of the renderer.
interface Parsed { help: Map<string, string>; type: Map<string, string>; samples: { name: string; labels: Record<string, string>; value: number; family: string }[] }

function unescapeLabel(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseExposition(text: string): Parsed {
  const out: Parsed = { help: new Map(), type: new Map(), samples: [] };
  assert.ok(text.endsWith('\n'), 'the body ends with a newline');
  let current = '';
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      const map = kind === 'HELP' ? out.help : out.type;
      assert.ok(!map.has(name), `${kind} for ${name} given once`);
      if (kind === 'TYPE') { assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/); assert.ok(out.help.has(name), `HELP before TYPE for ${name}`); current = name; }
      map.set(name, rest);
      continue;
    }
    assert.ok(!line.startsWith('#'), `no other comments: ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `sample line parses: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/gy;
    let consumed = 0;
    for (let lm = re.exec(body); lm; lm = re.exec(body)) { labels[lm[1]!] = unescapeLabel(lm[2]!); consumed = re.lastIndex; if (!lm[3]) break; }
    assert.equal(consumed, body.length, `labels parse completely: ${body}`);
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    assert.ok(m[3] === 'NaN' || !Number.isNaN(value), `value is a number: ${m[3]}`);
    const family = out.type.get(current) === 'histogram' ? m[1]!.replace(/_(bucket|sum|count)$/, '') : m[1]!;
    assert.equal(family, current, `${m[1]} follows its own HELP/TYPE`);
    out.samples.push({ name: m[1]!, labels, value, family });
  }
  return out;
}

/** Checks every histogram series: cumulative buckets, +Inf last and equal to _count, a _sum. */
function checkHistograms(p: Parsed): void {
  for (const [name, type] of p.type) {
    if (type !== 'histogram') continue;
    const series = new Map<string, typeof p.samples>();
    for (const s of p.samples.filter((x) => x.family === name)) {
      const { le: _le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, ss] of series) {
      const buckets = ss.filter((s) => s.name === `${name}_bucket`);
      const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
      assert.deepEqual(les, [...les].sort((a, b) => a - b), `${name}${key}: le ascending`);
      assert.equal(les.at(-1), Infinity, `${name}${key}: ends with le="+Inf"`);
      buckets.forEach((b, i) => i > 0 && assert.ok(b.value >= buckets[i - 1]!.value, `${name}${key}: cumulative`));
      const count = ss.find((s) => s.name === `${name}_count`);
      assert.ok(count && ss.some((s) => s.name === `${name}_sum`), `${name}${key}: _sum and _count`);
      assert.equal(buckets.at(-1)!.value, count.value, `${name}${key}: +Inf bucket equals _count`);
    }
  }
}

describe('Prometheus exposition rendering (pure core)', () => {
  test('HELP, TYPE, sorted samples, escaped label values and help', () => {
    const text = renderExposition([
      { type: 'gauge', name: 'g', help: 'a\\b\nc', samples: [{ labels: { vm: 'z' }, value: 2 }, { labels: { vm: 'a"b\\c\nd' }, value: 0.5 }] },
      { type: 'counter', name: 'c_total', help: 'count', samples: [{ labels: {}, value: 3 }] },
    ]);
    assert.equal(text, [
      '# HELP g a\\\\b\\nc', '# TYPE g gauge', 'g{vm="a\\"b\\\\c\\nd"} 0.5', 'g{vm="z"} 2',
      '# HELP c_total count', '# TYPE c_total counter', 'c_total 3', '',
    ].join('\n'));
    const p = parseExposition(text);
    assert.equal(p.samples[0]!.labels.vm, 'a"b\\c\nd', 'escaping round-trips');
  });

  test('special values and empty families', () => {
    const text = renderExposition([{ type: 'gauge', name: 'x', help: 'h', samples: [{ labels: { a: '1' }, value: NaN }, { labels: { a: '2' }, value: Infinity }, { labels: { a: '3' }, value: -Infinity }] }, { type: 'gauge', name: 'empty', help: 'h', samples: [] }]);
    assert.match(text, /^x\{a="1"\} NaN$/m);
    assert.match(text, /^x\{a="2"\} \+Inf$/m);
    assert.match(text, /^x\{a="3"\} -Inf$/m);
    assert.match(text, /# TYPE empty gauge\n$/);
    assert.equal(renderExposition([]), '');
  });

  test('histogram: cumulative buckets, +Inf, _sum and _count', () => {
    let h = emptyHistogram([1, 5], { job: 'r' });
    for (const v of [0.5, 1, 3, 7, 100]) h = observe(h, v);
    assert.deepEqual(h.counts, [2, 1, 2]);
    const text = renderExposition([{ type: 'histogram', name: 'd_seconds', help: 'h', series: [h] }]);
    assert.equal(text, ['# HELP d_seconds h', '# TYPE d_seconds histogram',
      'd_seconds_bucket{job="r",le="1"} 2', 'd_seconds_bucket{job="r",le="5"} 3', 'd_seconds_bucket{job="r",le="+Inf"} 5',
      'd_seconds_sum{job="r"} 111.5', 'd_seconds_count{job="r"} 5', ''].join('\n'));
    checkHistograms(parseExposition(text));
  });

  test('bad names are programming errors and throw; label values never do', () => {
    const bad: MetricFamily[] = [
      { type: 'gauge', name: '1x', help: '', samples: [] },
      { type: 'counter', name: 'c', help: '', samples: [] },
      { type: 'gauge', name: 'g', help: '', samples: [{ labels: { 'a-b': 'x' }, value: 1 }] },
      { type: 'gauge', name: 'g', help: '', samples: [{ labels: { __x: 'x' }, value: 1 }] },
      { type: 'histogram', name: 'h', help: '', series: [{ ...emptyHistogram([1]), labels: { le: '1' } }] },
      { type: 'histogram', name: 'h_count', help: '', series: [] },
      { type: 'histogram', name: 'h', help: '', series: [{ ...emptyHistogram([2, 1]) }] },
    ];
    for (const f of bad) {
      assert.ok(familyProblems(f).length > 0, f.name);
      assert.throws(() => renderExposition([f]), TypeError);
    }
    assert.throws(() => renderExposition([bad[2]!, bad[2]!].map((f) => ({ ...f, samples: [] }) as MetricFamily)), /defined twice/);
    assert.equal(escapeLabelValue('\u00e9\t'), '\u00e9\t');
  });
});

describe('MetricsRegistry', () => {
  const run = (vm: string, status: 'ok' | 'failed' | 'running' | 'interrupted', started: string, finished?: string, sizeBytes?: number) =>
    ({ kind: 'backup' as const, vm, status, started, ...(finished ? { finished } : {}), ...(sizeBytes !== undefined ? { sizeBytes } : {}) });

  test('backups, reconciles, revision, fleet changes', () => {
    const r = new MetricsRegistry({ version: '1.2.3' });
    r.setVms([{ name: 'db-1', hypervisor: 'hv1', policy: 'critical' }, { name: 'web "2"', hypervisor: 'hv2' }]);
    assert.equal(r.value('vmbackup_backup_failure_total', { vm: 'db-1' }), 0, 'counters start at 0 so increase() sees the first failure');
    assert.equal(r.recordBackup(run('db-1', 'ok', '2026-02-14T12:00:00Z', '2026-02-14T12:10:30Z', 4096)), true);
    r.recordBackup(run('db-1', 'failed', '2026-02-21T12:00:00Z', '2026-02-21T12:01:00Z'));
    assert.equal(r.recordBackup(run('db-1', 'running', '2026-02-21T12:00:00Z')), false);
    assert.equal(r.recordBackup({ ...run('db-1', 'ok', 'x'), kind: 'verify' }), false);
    assert.equal(r.value('vmbackup_backup_success_total', { vm: 'db-1' }), 1);
    assert.equal(r.value('vmbackup_backup_failure_total', { vm: 'db-1' }), 1);
    assert.equal(r.value('vmbackup_backup_last_success_timestamp_seconds', { vm: 'db-1' }), Date.parse('2026-02-14T12:10:30Z') / 1000);
    assert.equal(r.value('vmbackup_backup_duration_seconds', { vm: 'db-1' }), 630);
    assert.equal(r.value('vmbackup_backup_size_bytes', { vm: 'db-1' }), 4096);
    r.recordReconcile(1500); r.recordReconcile(200, false);
    assert.equal(r.value('vmbackup_reconcile_total', { result: 'error' }), 1);
    r.setRevision('abc'); r.setRevision('def');
    assert.equal(r.value('vmbackup_config_info', { revision: 'abc' }), undefined);
    assert.equal(r.value('vmbackup_config_info', { revision: 'def' }), 1);
    r.setVmReady('db-1', true); r.setHostReachable('hv1', true); r.setHostReachable('old', false); r.setHypervisors(['hv1']);
    assert.equal(r.value('vmbackup_host_reachable', { hypervisor: 'old' }), undefined);
    r.setStorage({ usedBytes: 25, totalBytes: 100 });
    assert.equal(r.value('vmbackup_storage_used_ratio'), 0.25);
    r.setVms([{ name: 'db-1', hypervisor: 'hv1' }]);
    assert.equal(r.value('vmbackup_backup_success_total', { vm: 'web "2"' }), undefined, 'a removed VM loses its series');
    assert.equal(r.value('vmbackup_vm_ready', { vm: 'db-1' }), 1);
  });

  test('restoreFromHistory sets the last-success gauges from the newest good run, not the counters', () => {
    const r = new MetricsRegistry();
    r.restoreFromHistory([run('a', 'ok', '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 1), run('a', 'ok', '2026-01-08T00:00:00Z', '2026-01-08T00:02:00Z', 2), run('a', 'failed', '2026-01-15T00:00:00Z', '2026-01-15T00:00:10Z')]);
    assert.equal(r.value('vmbackup_backup_size_bytes', { vm: 'a' }), 2);
    assert.equal(r.value('vmbackup_backup_duration_seconds', { vm: 'a' }), 120);
    assert.equal(r.value('vmbackup_backup_success_total', { vm: 'a' }), undefined);
  });

  test('the rendered registry parses back: every sample under its HELP/TYPE, histograms well formed', () => {
    const r = new MetricsRegistry({ version: '0.1.0' });
    r.setVms([{ name: 'a\\b', hypervisor: 'hv"1' }, { name: 'line\nbreak', hypervisor: 'hv2' }]);
    r.recordBackup(run('a\\b', 'ok', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z', 10));
    for (const ms of [50, 700, 4000, 9_999_999]) r.recordReconcile(ms);
    r.setRevision('0123456789abcdef'); r.setStorage({ usedBytes: 1, totalBytes: 3 }); r.setHostReachable('hv"1', false); r.setVmReady('line\nbreak', false);
    const p = parseExposition(r.render());
    assert.deepEqual([...p.type.keys()], METRIC_NAMES, 'every catalogued metric has HELP and TYPE, in catalogue order');
    for (const [name, t] of p.type) assert.equal(t, METRICS[name as keyof typeof METRICS].type);
    for (const s of p.samples) assert.ok(p.type.has(s.family), `${s.name} has a family`);
    checkHistograms(p);
    const count = p.samples.find((s) => s.name === 'vmbackup_reconcile_duration_seconds_count');
    assert.equal(count?.value, 4);
    assert.ok(p.samples.some((s) => s.name === 'vmbackup_vm_info' && s.labels.vm === 'line\nbreak'), 'newline in a label value round-trips');
    assert.ok(p.samples.some((s) => s.name === 'vmbackup_host_reachable' && s.labels.hypervisor === 'hv"1' && s.value === 0));
    for (const name of ['vmbackup_backup_last_success_timestamp_seconds', 'vmbackup_backup_duration_seconds', 'vmbackup_backup_size_bytes', 'vmbackup_backup_success_total', 'vmbackup_backup_failure_total', 'vmbackup_reconcile_duration_seconds', 'vmbackup_config_info', 'vmbackup_vm_ready', 'vmbackup_storage_used_ratio', 'vmbackup_host_reachable']) {
      assert.ok(p.type.has(name), `${name} is exported`);
    }
  });
});
