// The work behind `vmbackup render` (loaded only when it runs).
import { resolve, join } from 'node:path';
import { formatDiagnostic } from '../core/load.js';
import { renderAll } from '../core/render.js';
import { renderSystemd } from '../core/render-systemd.js';
import { loadSnapshot } from './policy-source.js';
import { writeFileAtomic } from '../adapters/atomic-write.js';
import { EXIT } from './exit-codes.js';
import { escapeTerminal } from '../core/terminal-text.js';

export interface RenderOpts { repo: string; rev?: string; out: string; json?: boolean }

export async function renderAction(opts: RenderOpts): Promise<void> {
  const snap = await loadSnapshot(opts.repo, opts.rev);
  if (!snap.load.ok) {
    for (const d of snap.load.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
    process.stderr.write(`render: ${snap.label} is invalid; nothing written\n`);
    process.exitCode = EXIT.ERROR;
    return;
  }
  const outDir = resolve(opts.out);
  const desired = snap.load.desired;
  // scheduler: systemd adds one .timer + .service per schedule next to the (inert) cron and Bacula files.
  const files = [...renderAll(desired, snap.templates, { outDir }), ...(desired.settings.scheduler === 'systemd' ? renderSystemd(desired) : [])];
  for (const f of files) await writeFileAtomic(join(outDir, f.path), f.content, f.mode);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ outDir, files: files.map((f) => ({ path: f.path, mode: f.mode.toString(8), bytes: Buffer.byteLength(f.content) })) }, null, 2) + '\n');
  } else {
    for (const f of files) process.stdout.write(escapeTerminal(`wrote ${join(outDir, f.path)} (mode ${f.mode.toString(8)})`) + '\n');
  }
  process.exitCode = EXIT.OK;
}
