// The storage page's view model: usage per hypervisor and per VM, growth over time (SVG charts),
// and the alert banner when the backup storage is at or above its threshold (80%). Pure.
import { humanBytes } from '../status-format.js';
import { barChart, lineChart } from './svg-chart.js';

export interface StorageIn {
  used_bytes?: number; total_bytes?: number; percent?: number; alert_percent: number; alert: boolean;
  by_hypervisor: Record<string, number>; by_vm: Record<string, number>;
  history: { day: string; used_bytes: number; total_bytes?: number }[];
}

export interface StoragePage {
  alert: boolean;
  banner: string;
  used: string;
  total: string;
  percent: string;
  growthSvg: string;
  hypervisorSvg: string;
  vmSvg: string;
  hypervisors: { name: string; used: string }[];
  vms: { name: string; used: string; href: string }[];
}

export function storagePage(s: StorageIn): StoragePage {
  const percent = s.percent !== undefined ? `${s.percent}%` : '—';
  const total = s.total_bytes ?? s.history.findLast((h) => h.total_bytes !== undefined)?.total_bytes;
  const limit = total !== undefined ? (total * s.alert_percent) / 100 : undefined;
  const entries = (r: Record<string, number>): [string, number][] => Object.entries(r).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return {
    alert: s.alert,
    banner: s.alert ? `Backup storage is ${percent} full (alert at ${s.alert_percent}%): prune, shorten retention, or add space before backups start to fail.` : '',
    used: s.used_bytes !== undefined ? humanBytes(s.used_bytes) : '—', total: total !== undefined ? humanBytes(total) : '—', percent,
    growthSvg: lineChart(s.history.map((h) => ({ label: h.day, value: h.used_bytes })), { title: `Used over time (last ${s.history.length} days)`, ...(limit !== undefined ? { limit } : {}) }),
    hypervisorSvg: barChart(entries(s.by_hypervisor).map(([label, value]) => ({ label, value })), { title: 'Per hypervisor' }),
    vmSvg: barChart(entries(s.by_vm).map(([label, value]) => ({ label, value })), { title: 'Per VM', max: 25 }),
    hypervisors: entries(s.by_hypervisor).map(([name, v]) => ({ name, used: humanBytes(v) })),
    vms: entries(s.by_vm).map(([name, v]) => ({ name, used: humanBytes(v), href: `/ui/vms/${encodeURIComponent(name)}` })),
  };
}
