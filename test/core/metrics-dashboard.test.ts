// examples/grafana/vmbackup-dashboard.json: parses, is a current Grafana dashboard with a
// Prometheus data source variable, and queries only metrics the registry exports.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { METRICS, type MetricName } from '../../src/adapters/http/metrics-registry.js';
import { ROOT } from '../helpers/paths.js';
import { parse } from 'yaml';

interface Target { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } }
interface Panel { id: number; type: string; title: string; gridPos?: { x: number; y: number; w: number; h: number }; datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[] }

const load = async () => JSON.parse(await readFile(join(ROOT, 'examples/grafana/vmbackup-dashboard.json'), 'utf8')) as {
  schemaVersion: number; uid: string; panels: Panel[]; templating: { list: { name: string; type: string; query: unknown; datasource?: { uid?: string } }[] };
};

const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);

/** Metric names a PromQL expression uses: vmbackup_* identifiers, histogram suffixes folded. */
function metricsIn(expr: string): string[] {
  const names = expr.match(/\bvmbackup_[a-zA-Z0-9_]+/g) ?? [];
  return names.map((n) => {
    const base = n.replace(/_(bucket|sum|count)$/, '');
    return base !== n && base in METRICS && METRICS[base as MetricName].type === 'histogram' ? base : n;
  });
}

describe('Grafana dashboard', () => {
  test('parses; schemaVersion >= 36; a Prometheus data source variable used by every query', async () => {
    const d = await load();
    assert.ok(d.schemaVersion >= 36, `schemaVersion ${d.schemaVersion}`);
    assert.ok(d.uid);
    const ds = d.templating.list.find((v) => v.type === 'datasource');
    assert.ok(ds && ds.query === 'prometheus', 'a datasource variable of type prometheus');
    const ref = `\${${ds.name}}`;
    for (const v of d.templating.list.filter((x) => x.type === 'query')) assert.equal(v.datasource?.uid, ref, `variable ${v.name}`);
    const panels = flat(d.panels);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
    for (const p of panels.filter((x) => x.type !== 'row')) {
      assert.ok(p.gridPos && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: fits the 24-column grid`);
      assert.equal(p.datasource?.uid, ref, `${p.title}: panel data source`);
      assert.ok(p.targets?.length, `${p.title}: has queries`);
      for (const t of p.targets!) {
        assert.equal(t.datasource?.uid, ref, `${p.title}/${t.refId}: target data source`);
        assert.ok(t.expr && metricsIn(t.expr).length, `${p.title}/${t.refId}: queries a vmbackup metric`);
      }
    }
  });

  test('every metric it queries is one the registry exports', async () => {
    const d = await load();
    const exprs = [
      ...flat(d.panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')),
      ...d.templating.list.map((v) => JSON.stringify(v.query)),
    ];
    const used = new Set(exprs.flatMap(metricsIn));
    for (const m of used) assert.ok(m in METRICS, `${m} is exported by MetricsRegistry`);
    for (const m of ['vmbackup_backup_last_success_timestamp_seconds', 'vmbackup_backup_success_total', 'vmbackup_backup_failure_total', 'vmbackup_backup_duration_seconds', 'vmbackup_backup_size_bytes', 'vmbackup_reconcile_duration_seconds', 'vmbackup_config_info', 'vmbackup_storage_used_ratio', 'vmbackup_host_reachable']) {
      assert.ok(used.has(m), `the dashboard shows ${m}`);
    }
  });

  test('the metric-name check itself catches an unknown metric', () => {
    assert.deepEqual(metricsIn('rate(vmbackup_reconcile_duration_seconds_bucket[5m]) + vmbackup_nope_total'), ['vmbackup_reconcile_duration_seconds', 'vmbackup_nope_total']);
    assert.ok(!('vmbackup_nope_total' in METRICS));
  });

  test('the example alert rules in docs/operations.md parse and use exported metrics only', async () => {
    const md = await readFile(join(ROOT, 'docs/operations.md'), 'utf8');
    const block = /```yaml\n(groups:[\s\S]*?)```/.exec(md);
    assert.ok(block, 'an alert rules block');
    const rules = (parse(block[1]!) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 5);
    for (const r of rules) for (const m of metricsIn(r.expr)) assert.ok(m in METRICS, `${r.alert}: ${m} is exported`);
    const exprs = rules.map((r) => r.expr).join('\n');
    assert.match(exprs, /time\(\) - vmbackup_backup_last_success_timestamp_seconds > 8 \* 86400/, 'backup older than 8 days');
    assert.match(exprs, /vmbackup_backup_failure_total/);
    assert.match(exprs, /vmbackup_reconcile_last_success_timestamp_seconds/);
  });
});
