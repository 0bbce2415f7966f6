// Runs the example CI files' shell steps the way GitHub Actions and GitLab would, with fake
// vmbackup/curl/npm/git on PATH, so their exit handling is tested without a CI service.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface Fake {
  /** vmbackup is "not found": every call exits 127. */
  missing?: boolean;
  validate?: { code: number; out: string };
  plan?: { code: number; out: string };
  /** The sha256 the operator configured; default: the fake tarball's real one. */
  sha?: string;
}

export interface CiRun {
  ok: boolean;
  /** Name of the step that failed (GitHub) or the stderr (GitLab). */
  failedAt?: string;
  stdout: string;
  stderr: string;
  /** Body of the PR/MR comment, when one was posted. */
  comment?: string;
  curlCalls: string[];
  work: string;
}

const TARBALL = 'fake tarball\n';
export const TARBALL_SHA = createHash('sha256').update(TARBALL).digest('hex');

const VMBACKUP = `#!/bin/bash
[ -n "$FAKE_MISSING" ] && { echo "vmbackup: command not found" >&2; exit 127; }
case "$1" in
  --version) echo 0.1.0 ;;
  validate) printf '%s' "$FAKE_VALIDATE_OUT"; exit "$FAKE_VALIDATE_CODE" ;;
  plan) printf '%s' "$FAKE_PLAN_OUT"; exit "$FAKE_PLAN_CODE" ;;
esac
`;
const CURL = `#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE_LOG/curl.log"
out=""; prev=""
for a in "$@"; do
  [ "$prev" = "-o" ] && out="$a"
  case "$a" in body@*) cp -- "\${a#body@}" "$FAKE_LOG/comment.md" ;; esac
  prev="$a"
done
if [ -n "$out" ] && [ "$out" != /dev/null ]; then printf 'fake tarball\\n' > "$out"; fi
exit 0
`;
const LOGGER = `#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE_LOG/$(basename "$0").log"
`;

/** A work dir with fake tools; returns the env every step runs with. */
function setup(fake: Fake): { work: string; log: string; env: NodeJS.ProcessEnv } {
  const work = mkdtempSync(join(tmpdir(), 'vmb-ci-'));
  const bin = join(work, '.fakebin');
  const log = join(work, '.log');
  mkdirSync(bin);
  mkdirSync(log);
  for (const [name, text] of [['vmbackup', VMBACKUP], ['curl', CURL], ['npm', LOGGER], ['git', LOGGER]] as const) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: work,
    FAKE_LOG: log,
    FAKE_MISSING: fake.missing ? '1' : '',
    FAKE_VALIDATE_CODE: String(fake.validate?.code ?? 0),
    FAKE_VALIDATE_OUT: fake.validate?.out ?? '',
    FAKE_PLAN_CODE: String(fake.plan?.code ?? 0),
    FAKE_PLAN_OUT: fake.plan?.out ?? '',
  };
  return { work, log, env };
}

function collect(log: string): { comment?: string; curlCalls: string[] } {
  const curlLog = join(log, 'curl.log');
  const curlCalls = existsSync(curlLog) ? readFileSync(curlLog, 'utf8').split('\n').filter(Boolean) : [];
  const body = join(log, 'comment.md');
  return existsSync(body) ? { comment: readFileSync(body, 'utf8'), curlCalls } : { curlCalls };
}

type Ctx = Record<string, string>;
const expr = (s: string, ctx: Ctx): string => s.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_m, k: string) => ctx[k] ?? '');

/** The `if:` forms the example uses: `a != 'x' || b == 'y'`. */
function evalIf(cond: string, ctx: Ctx): boolean {
  return cond.split('||').some((part) => {
    const m = /^\s*([\w.]+)\s*(==|!=)\s*'([^']*)'\s*$/.exec(part);
    if (!m) throw new Error(`unsupported if: ${cond}`);
    return m[2] === '==' ? (ctx[m[1]!] ?? '') === m[3] : (ctx[m[1]!] ?? '') !== m[3];
  });
}

export interface GhWorkflow { env?: Record<string, string>; defaults?: { run?: { shell?: string } }; jobs: Record<string, { steps: GhStep[] }> }
interface GhStep { name?: string; id?: string; uses?: string; run?: string; if?: string; env?: Record<string, string>; with?: Record<string, string> }

/** Runs one GitHub job's steps in order, stopping at the first failure. `shell: bash` is bash -eo
 * pipefail; with no shell set, GitHub runs bash -e. */
export function runGitHubJob(wf: GhWorkflow, fake: Fake, pinned = true): CiRun {
  const [job] = Object.values(wf.jobs);
  const steps = job?.steps ?? [];
  const shell = wf.defaults?.run?.shell;
  const flags = shell === 'bash' ? ['-eo', 'pipefail'] : ['-e'];
  const { work, log, env } = setup(fake);
  const runnerTemp = join(work, '.runner-temp');
  mkdirSync(runnerTemp);
  const ctx: Ctx = {
    'github.base_ref': 'main',
    'runner.temp': runnerTemp,
  };
  // The operator's edit of the workflow's pinned tarball (pinned=false: the file as shipped).
  const wfEnv: NodeJS.ProcessEnv = { ...wf.env, ...(pinned ? { VMBACKUP_TARBALL: 'https://releases.example.internal/vmbackup-0.1.0.tgz', VMBACKUP_SHA256: fake.sha ?? TARBALL_SHA } : {}) };
  let stdout = '';
  let stderr = '';
  let comment: string | undefined;
  for (const [i, step] of steps.entries()) {
    if (step.if !== undefined && !evalIf(step.if, ctx)) continue;
    if (step.uses !== undefined) {
      if (step.uses.startsWith('marocchino/sticky-pull-request-comment')) comment = readFileSync(resolve(work, expr(step.with?.path ?? '', ctx)), 'utf8');
      continue;
    }
    const output = join(runnerTemp, `output-${i}`);
    writeFileSync(output, '');
    const stepEnv: NodeJS.ProcessEnv = { ...env, ...wfEnv, RUNNER_TEMP: runnerTemp, GITHUB_OUTPUT: output };
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = expr(String(v), ctx);
    const r = spawnSync('bash', ['--noprofile', '--norc', ...flags, '-c', expr(step.run ?? '', ctx)], { cwd: work, env: stepEnv, encoding: 'utf8' });
    stdout += r.stdout;
    stderr += r.stderr;
    if (step.id !== undefined) {
      for (const line of readFileSync(output, 'utf8').split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) ctx[`steps.${step.id}.outputs.${line.slice(0, eq)}`] = line.slice(eq + 1);
      }
    }
    if (r.status !== 0) return { ok: false, failedAt: step.name ?? step.id ?? String(i), stdout, stderr, ...(comment === undefined ? {} : { comment }), curlCalls: collect(log).curlCalls, work };
  }
  return { ok: true, stdout, stderr, ...(comment === undefined ? {} : { comment }), curlCalls: collect(log).curlCalls, work };
}

/** Runs a GitLab job's before_script + script as one bash -eo pipefail script, as the runner does. */
export function runGitLabJob(job: { before_script?: string[]; script: string[] }, fake: Fake): CiRun {
  const { work, log, env } = setup(fake);
  const script = [...(job.before_script ?? []), ...job.script].join('\n');
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    cwd: work,
    encoding: 'utf8',
    env: {
      ...env,
      VMBACKUP_TARBALL: 'https://releases.example.internal/vmbackup-0.1.0.tgz',
      VMBACKUP_SHA256: fake.sha ?? TARBALL_SHA,
      VMBACKUP_GITLAB_TOKEN: 'glpat-test',
      CI_API_V4_URL: 'https://gitlab.example.internal/api/v4',
      CI_PROJECT_ID: '42',
      CI_MERGE_REQUEST_IID: '7',
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
    },
  });
  return { ok: r.status === 0, ...(r.status === 0 ? {} : { failedAt: r.stderr }), stdout: r.stdout, stderr: r.stderr, ...collect(log), work };
}
