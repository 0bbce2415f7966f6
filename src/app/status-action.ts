// Reads status/summary.yaml and status/vms/*.yaml (what the daemon committed) plus the daemon's
// applied/attempted revisions, and prints one row per VM.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { fmt } from '../core/prechecks.js';
import { StateStore } from '../adapters/store/state-store.js';
import { EXIT } from './exit-codes.js';
import { escapeTerminal } from '../core/terminal-text.js';
import { styler } from './style.js';
import { readDaemonState } from '../daemon/daemon-state.js';
import { DEFAULT_STATE_DIR } from './engine-setup.js';

interface VmFile { vm: string; hypervisor: string; conditions?: { type: string; status: string; reason: string; message?: string }[]; last_backup?: { time: string; status: string; size_bytes?: number }; next_due?: string; restore_points?: unknown[] }

export async function statusAction(o: { repo: string; stateDir?: string; json?: boolean }): Promise<void> {
  // The daemon commits status from a worktree beside its checkout (<repo>.status): prefer the fresher one.
  const base = (await readdir(join(`${o.repo.replace(/\/+$/, '')}.status`, 'status')).then(() => true, () => false)) ? `${o.repo.replace(/\/+$/, '')}.status` : o.repo;
  const dir = join(base, 'status', 'vms');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.yaml')).sort();
  const vms = await Promise.all(names.map(async (n) => parse(await readFile(join(dir, n), 'utf8'), { maxAliasCount: 100 }) as VmFile));
  const summary = parse(await readFile(join(base, 'status', 'summary.yaml'), 'utf8').catch(() => '{}')) as Record<string, unknown> | null;
  const stateDir = o.stateDir ?? process.env.VMBACKUP_STATE_DIR ?? DEFAULT_STATE_DIR;
  const daemon = await StateStore.open(stateDir).then(readDaemonState).catch(() => undefined);
  const rows = vms.map((v) => {
    const ready = v.conditions?.find((c) => c.type === 'Ready');
    const stalled = v.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
    return { vm: v.vm, hypervisor: v.hypervisor, ready: ready?.status ?? 'Unknown', reason: ready?.reason ?? '', ...(stalled ? { stalled: stalled.reason ?? 'Stalled', stalled_message: stalled.message ?? '' } : {}), last_backup: v.last_backup?.time ?? '', size: v.last_backup?.size_bytes ?? 0, restore_points: v.restore_points?.length ?? 0, next_due: v.next_due ?? '' };
  });
  // A Stalled VM (e.g. PruneRefused: the mass-prune guard refused its prunes) needs a human even when Ready.
  const allReady = rows.length > 0 && rows.every((r) => r.ready === 'True' && !r.stalled);
  if (o.json) {
    process.stdout.write(JSON.stringify({ summary, daemon, vms: rows }, null, 2) + '\n');
  } else {
    const s = styler(process.stdout);
    if (daemon) process.stdout.write(`applied ${daemon.lastAppliedRevision?.slice(0, 12) ?? '-'}  attempted ${daemon.lastAttemptedRevision?.slice(0, 12) ?? '-'}${daemon.lastAttemptErrors.length ? s('red', `  (${daemon.lastAttemptErrors.length} errors: not applied)`) : ''}\n`);
    const head = ['VM', 'HYPERVISOR', 'READY', 'REASON', 'LAST BACKUP', 'SIZE', 'POINTS', 'NEXT DUE'];
    const cells = rows.map((r) => [r.vm, r.hypervisor, r.ready, r.stalled ? `${r.reason}; Stalled: ${r.stalled}` : r.reason, r.last_backup.slice(0, 16).replace('T', ' '), r.size ? fmt(r.size) : '', String(r.restore_points), r.next_due.slice(0, 16).replace('T', ' ')].map(escapeTerminal));
    const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: string[]): string => c.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd();
    process.stdout.write(line(head) + '\n');
    cells.forEach((c, i) => process.stdout.write((c[2] === 'True' && !rows[i]!.stalled ? line(c) : s(c[2] === 'Unknown' ? 'yellow' : 'red', line(c))) + '\n'));
    for (const r of rows) if (r.stalled) process.stdout.write(s('red', escapeTerminal(`${r.vm}: Stalled (${r.stalled}): ${r.stalled_message}`)) + '\n');
    if (!rows.length) process.stdout.write(`no status files under ${dir} (the daemon writes them after its first reconcile)\n`);
  }
  process.exitCode = allReady ? EXIT.OK : EXIT.ERROR;
}
