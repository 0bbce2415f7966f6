// The standard process_* and nodejs_* families (the names prom-client's default metrics use), so
// a dashboard for any Node service shows the daemon's memory, CPU and event-loop lag.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { MetricFamily } from '../../core/metrics.js';

/** Returns a function giving the families at scrape time; the event-loop monitor runs from now on. */
export function processMetrics(): () => MetricFamily[] {
  const lag: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const startSec = Math.round(Date.now() / 1000 - process.uptime());
  return () => {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const g = (name: string, help: string, value: number): MetricFamily => ({ type: 'gauge', name, help, samples: [{ labels: {}, value }] });
    const ns = (v: number): number => (Number.isFinite(v) ? v / 1e9 : 0);
    const out: MetricFamily[] = [
      { type: 'counter', name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', samples: [{ labels: {}, value: (cpu.user + cpu.system) / 1e6 }] },
      g('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss),
      g('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', startSec),
      g('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', mem.heapUsed),
      g('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', mem.heapTotal),
      g('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays since the last scrape.', ns(lag.mean)),
      g('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays since the last scrape.', ns(lag.percentile(99))),
      g('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay since the last scrape.', ns(lag.max)),
    ];
    lag.reset();
    return out;
  };
}
