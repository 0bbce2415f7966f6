// `vmbackup render`: writes the Bacula director config and the cron.d file from the policy repo.
import type { Command } from 'commander';
import { resolve, join } from 'node:path';
import { formatDiagnostic } from '../core/load.js';
import { renderAll } from '../core/render.js';
import { loadSnapshot } from '../app/policy-source.js';
import { writeFileAtomic } from '../adapters/atomic-write.js';
import { EXIT } from './exit-codes.js';

interface RenderOpts { repo: string; rev?: string; out: string; json?: boolean }

export function registerRender(program: Command): void {
  program
    .command('render')
    .description('render bacula-dir.conf and vmbackup.cron from the policy repository and its templates')
    .option('--repo <dir>', 'policy repository directory', '.')
    .option('--rev <rev>', 'render a git revision instead of the working tree')
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--json', 'print the written files as JSON')
    .addHelpText('after', '\nSecrets are written as @@secret:env:NAME@@ / @@secret:credential:NAME@@ placeholders, filled at apply time; files holding them get mode 0600.\nExit status: 0 written, 1 invalid repo or write error.')
    .action(async (opts: RenderOpts) => {
      const snap = await loadSnapshot(opts.repo, opts.rev);
      if (!snap.load.ok) {
        for (const d of snap.load.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
        process.stderr.write(`render: ${snap.label} is invalid; nothing written\n`);
        process.exitCode = EXIT.ERROR;
        return;
      }
      const outDir = resolve(opts.out);
      const files = renderAll(snap.load.desired, snap.templates, { outDir });
      for (const f of files) await writeFileAtomic(join(outDir, f.path), f.content, f.mode);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ outDir, files: files.map((f) => ({ path: f.path, mode: f.mode.toString(8), bytes: Buffer.byteLength(f.content) })) }, null, 2) + '\n');
      } else {
        for (const f of files) process.stdout.write(`wrote ${join(outDir, f.path)} (mode ${f.mode.toString(8)})\n`);
      }
      process.exitCode = EXIT.OK;
    });
}
