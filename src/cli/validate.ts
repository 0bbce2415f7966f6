// `vmbackup validate`: what CI runs on every pull request. Prints every problem, one per line.
import type { Command } from 'commander';
import { formatDiagnostic, loadPolicyRepo } from '../core/load.js';
import { readPolicyFilesFromDir } from '../adapters/policy-files.js';
import { EXIT } from './exit-codes.js';
import { styler } from './style.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a policy repository: JSON Schema, YAML safety and cross-file rules')
    .option('--repo <dir>', 'policy repository directory', '.')
    .option('--json', 'print a JSON report instead of text')
    .addHelpText('after', '\nExit status: 0 valid (warnings allowed), 1 invalid or unreadable.\nEach problem prints as path:line:col: severity: message [CODE]; codes are listed in docs/errors.md.')
    .action(async (opts: { repo: string; json?: boolean }) => {
      const files = await readPolicyFilesFromDir(opts.repo);
      const r = loadPolicyRepo(files);
      const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
      const warnings = r.diagnostics.length - errors;
      const counts = { files: files.length, vms: r.desired.vms.length, hypervisors: r.desired.hypervisors.length, policies: r.desired.policies.length };
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ok: r.ok, errors, warnings, ...counts, diagnostics: r.diagnostics }, null, 2) + '\n');
      } else {
        const s = styler(process.stdout);
        for (const d of r.diagnostics) process.stdout.write(s(d.severity === 'error' ? 'red' : 'yellow', formatDiagnostic(d)) + '\n');
        const summary = `${counts.files} files, ${counts.vms} VMs, ${counts.hypervisors} hypervisors, ${counts.policies} policies: ${errors} errors, ${warnings} warnings`;
        process.stdout.write((r.ok ? s('green', `valid: ${summary}`) : s('red', `invalid: ${summary}`)) + '\n');
      }
      process.exitCode = r.ok ? EXIT.OK : EXIT.ERROR;
    });
}
