// The work behind `vmbackup validate` (loaded only when it runs, so --help and other commands
// start fast).
import { formatDiagnostic, loadPolicyRepo, type PolicyFileText } from '../core/load.js';
import { readPolicyFilesFromDir } from '../adapters/policy-files.js';
import { EXIT } from './exit-codes.js';
import { styler } from './style.js';

export interface ValidateOpts { repo: string; rev?: string; json?: boolean }

/** A revision's files: the git adapter is loaded only when asked for. */
async function readAtRevision(repo: string, rev: string): Promise<PolicyFileText[]> {
  const { readPolicyFilesAtRevision, resolveRevision } = await import('../adapters/git/revision-files.js');
  return readPolicyFilesAtRevision(repo, await resolveRevision(repo, rev));
}

export async function validateAction(opts: ValidateOpts): Promise<void> {
  const files = opts.rev === undefined ? await readPolicyFilesFromDir(opts.repo) : await readAtRevision(opts.repo, opts.rev);
  const r = loadPolicyRepo(files);
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = r.diagnostics.length - errors;
  const counts = { files: files.filter((f) => !f.refused).length, vms: r.desired.vms.length, hypervisors: r.desired.hypervisors.length, policies: r.desired.policies.length };
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ok: r.ok, errors, warnings, ...counts, diagnostics: r.diagnostics }, null, 2) + '\n');
  } else {
    const s = styler(process.stdout);
    for (const d of r.diagnostics) process.stdout.write(s(d.severity === 'error' ? 'red' : 'yellow', formatDiagnostic(d)) + '\n');
    const summary = `${counts.files} files, ${counts.vms} VMs, ${counts.hypervisors} hypervisors, ${counts.policies} policies: ${errors} errors, ${warnings} warnings`;
    process.stdout.write((r.ok ? s('green', `valid: ${summary}`) : s('red', `invalid: ${summary}`)) + '\n');
  }
  process.exitCode = r.ok ? EXIT.OK : EXIT.ERROR;
}
