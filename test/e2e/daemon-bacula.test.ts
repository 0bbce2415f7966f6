// The daemon end to end in Bacula mode, against real parts: a bare git remote, the daemon as a child
// process, a real director (bacula-dir with a sqlite catalog) whose Admin jobs' RunScripts call the
// real vmbackup CLI, the lab's VMs (lab-noos locally, hv1-vm1 over ssh), and local Slack (HTTP)
// and SMTP receivers. Every step is driven by a commit and a signed webhook.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { commitAndPush, makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { daemonState, startDaemon, waitFor, webhook, type DaemonProc } from '../helpers/daemon.js';
import { baculaOrSkip, catalogJobs, scratchDirector, type Director } from '../helpers/bacula.js';
import { startHttpReceiver, startSmtpReceiver, type Captured, type HttpReceiver, type SmtpReceiver } from '../helpers/receivers.js';
import { repairLab, waitQuiet, type FaultEnv } from '../helpers/faults.js';
import { CLI, ROOT } from '../helpers/paths.js';
import { labPolicy } from '../lab/policy-repo.js';
import { loadLab, type Lab } from '../lab/lab.js';
import { loadPolicyRepo } from '../../src/core/load.js';
import { formatBytes } from '../../src/core/notify-format.js';
import { readPolicyFilesFromDir } from '../../src/adapters/policy-files.js';
import { resolveTemplates } from '../../src/adapters/templates.js';
import { Bconsole } from '../../src/adapters/bacula/bconsole.js';
import { applyDesired } from '../../src/daemon/apply.js';
import { mintToken } from '../../src/adapters/console/auth.js';
import { tokenLine } from '../../src/core/console/tokens.js';

type Block = { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: string }[] };
type Slack = { text: string; blocks: Block[] };
const slackOf = (c: Captured): Slack => c.json as Slack;
const header = (c: Captured): string => slackOf(c).blocks.find((b) => b.type === 'header')?.text?.text ?? '';
const fieldsOf = (c: Captured): Map<string, string> => new Map(slackOf(c).blocks.flatMap((b) => b.fields ?? []).map((f) => { const [k, ...v] = f.text.split('\n'); return [k!.replace(/^\*|\*$/g, ''), v.join('\n')]; }));
const sectionTexts = (c: Captured): string[] => slackOf(c).blocks.filter((b) => b.type === 'section' && b.text).map((b) => b.text!.text);
const ID_RE = /^\d{4}-\d{2}-\d{2}-\d{6}$/;
// src/engine/backup.ts notifies failures and warnings only, never a success, so the notifier never
// sees the success that would be announced as "Recovered" (nor the e-mail for "every event").

describe('vmbackup daemon (Bacula mode) end to end', () => {
  let lab: Lab | undefined;
  let env: LabEnv | undefined;
  let repo: TestRepo | undefined;
  let dir: Director | undefined;
  let d: DaemonProc | undefined;
  let slack: HttpReceiver | undefined;
  let smtp: SmtpReceiver | undefined;
  let policy: Record<string, unknown> = {};
  let secrets: Record<string, string> = {};
  let channels: Record<string, string> = {};
  let conf = '';
  let failed = false;
  const operator = mintToken();
  const vms = () => policy.vms as Record<string, unknown>[];
  const ids = async (vm: string, hv: string) => (await readdir(join(env!.storageDir, hv, vm)).catch(() => [])).filter((n) => ID_RE.test(n)).sort();
  const remoteLog = async () => (await execa('git', ['-C', repo!.bare, 'log', '--format=%s', 'main'])).stdout.split('\n');
  const con = () => new Bconsole(dir!.bconsoleConf);
  const failures = () => slack!.requests.filter((r) => r.path === '/failure');
  const digests = () => slack!.requests.filter((r) => r.path === '/digest');
  const mails = (re: RegExp) => smtp!.mails.filter((m) => re.test(m.subject));
  const logsTail = () => `\n--- daemon log ---\n${d?.logs().slice(-5000) ?? ''}`;

  /** This file's view for the fault helpers: which overlays are ours (runs in our state dir), where our storage is. */
  const faultView = (): FaultEnv => ({ lab, stateDir: env!.stateDir, storage: env!.storageDir, remoteStorage: join(lab!.storage.remoteDir, env!.storageDir.slice(lab!.storage.dir.length + 1)) }) as FaultEnv;
  /** The lab is shared: let another test's backup of the same VM end before ours starts. */
  const quiet = (vm: string) => waitQuiet(faultView(), [vm], 180_000);

  async function commit(msg: string, mutate: (p: Record<string, unknown>) => void, files: Record<string, string | null> = {}): Promise<string> {
    await repo!.git('pull', '-q', '--rebase', 'origin', 'main');
    mutate(policy);
    return commitAndPush(repo!, msg, { 'lab.yaml': stringify(policy), ...files });
  }
  /** Status commits land on top of ours, so "applied" means the applied revision contains `rev`. */
  const applied = async (rev: string): Promise<boolean> => {
    const a = (await daemonState(env!.stateDir)).daemon?.lastAppliedRevision;
    if (!a) return false;
    return (await execa('git', ['-C', repo!.bare, 'merge-base', '--is-ancestor', rev, a], { reject: false })).exitCode === 0;
  };
  const statusCommit = (prefix: string) => waitFor(`status commit "${prefix}"`, async () => (await remoteLog())[0]!.startsWith(prefix), 90_000, 500).catch(async (e: Error) => { throw new Error(`${e.message}; remote log: ${(await remoteLog()).slice(0, 3).join(' | ')}${logsTail()}`); });
  const job = (name: string, status: string, after = 0) => waitFor(`${name} ${status} in the catalog`, async () => (await catalogJobs(dir!.bconsoleConf)).find((j) => j.name === name && j.status === status && j.jobId > after), 180_000, 1000)
    .catch(async (e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(await catalogJobs(dir!.bconsoleConf))}\n--- bacula log ---\n${(await dir!.log()).slice(-4000)}${logsTail()}`); });

  before(async () => {
    lab = loadLab();
    if (!lab || !existsSync('/usr/sbin/bacula-dir')) return;
    env = await labEnv(lab, { isolate: true });
    slack = await startHttpReceiver();
    smtp = await startSmtpReceiver();
    dir = await scratchDirector();
    // The director runs RunScripts as argv; the CLI under test stands in for /usr/bin/vmbackup.
    const command = join(dir.dir, 'vmbackup');
    await writeFile(command, `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`);
    await chmod(command, 0o755);
    const base = labPolicy(lab, { controlDir: join(env.root, 'ssh'), storageRoot: env.storageDir, remoteStorageRoot: join(lab.storage.remoteDir, env.storageDir.slice(lab.storage.dir.length + 1)) });
    policy = {
      settings: {
        ...(base.settings as Record<string, unknown>),
        scheduler: 'bacula',
        time_zone: 'UTC',
        bacula: { ...dir.settings, command, repo_path: join(env.stateDir, 'repo') },
        notifications: {
          slack: { failure_webhook: { env: 'SLACK_FAILURE_WEBHOOK' }, digest_webhook: { env: 'SLACK_DIGEST_WEBHOOK' }, digest_schedule: '* * * * *' },
          email: { host: '127.0.0.1', port: smtp.port, from: 'vmbackup@lab.invalid', to: ['ops@lab.invalid'] },
        },
      },
      hypervisors: base.hypervisors,
      vms: [],
    };
    const src = join(env.root, 'seed');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'lab.yaml'), stringify(policy));
    repo = await makeRepo(src);
    // The secrets the daemon fills in, and the notification channels (the director's RunScripts
    // run the CLI with the director's environment: same state dir, same channels).
    secrets = { TEST_BACULA_DIR_PASSWORD: dir.password, BACULA_FD_PASSWORD: 'fd-placeholder', BACULA_SD_PASSWORD: 'sd-placeholder' };
    channels = { VMBACKUP_ALLOW_PLAINTEXT_HTTP: '1', SLACK_FAILURE_WEBHOOK: slack.url('/failure'), SLACK_DIGEST_WEBHOOK: slack.url('/digest'), VMBACKUP_STATE_DIR: env.stateDir, NO_COLOR: '1' };
    secrets = { ...secrets, ...channels };
    // The director already runs the initial revision's config, as it would on a host being taken over.
    const load = loadPolicyRepo(await readPolicyFilesFromDir(repo.work));
    assert.ok(load.ok, JSON.stringify(load.diagnostics));
    await applyDesired(load.desired, await resolveTemplates(new Map()), { baculaConfigDir: dir.dir, cronFile: join(env.root, 'unused.cron') }, secrets);
    conf = join(dir.dir, 'bacula-dir.conf');
    await dir.start(conf, channels);
  });

  after(async () => {
    await d?.stop().catch(() => undefined);
    // Safety net after a failure: put back only overlays of this file's own runs.
    if (failed && lab && env) await repairLab(faultView(), ['lab-noos', 'hv1-vm1']).catch(() => undefined);
    await dir?.stop().catch(() => undefined);
    await slack?.close();
    await smtp?.close();
    await repo?.cleanup();
    await env?.cleanup();
  });

  test('starts on the director\'s running config: the same file stays, one reconcile, status committed', { timeout: 120_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t)) return;
    failed = true;
    const before = await readFile(conf, 'utf8');
    const tokens = join(env!.root, 'console-tokens');
    await writeFile(tokens, `${tokenLine('ops', 'operator', operator.digest)}\n`, { mode: 0o600 });
    d = await startDaemon(repo!.bare, env!.stateDir, ['--bacula-config-dir', dir!.dir, '--bconsole-config', dir!.bconsoleConf, '--api-tokens', tokens], secrets);
    await waitFor('readyz', async () => (await fetch(`${d!.url}/readyz`)).status === 200, 90_000).catch((e: Error) => { throw new Error(e.message + logsTail()); });
    assert.equal(await readFile(conf, 'utf8'), before, 'an unchanged render is not rewritten');
    assert.doesNotMatch(d.logs(), /configuration applied/);
    assert.deepEqual((await con().jobs()).filter((j) => j.startsWith('backup-vm-')), []);
    await statusCommit('status: 0 ok, 0 failed, 0 overdue');
    failed = false;
  });

  test('a good commit adds a policy and a VM: -t, reload, catch-up through `bconsole run` recorded in the catalog, backup published, status committed', { timeout: 240_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t)) return;
    failed = true;
    await quiet('lab-noos');
    const rev = await commit('gold policy, protect lab-noos', (p) => {
      p.policies = [{ name: 'gold', selector: { match_labels: { tier: 'gold' } }, schedule: 'daily', priority: 3, retention: { keep_last: 3 } }];
      p.vms = [{ name: 'lab-noos', hypervisor: 'local', method: 'snapshot', labels: { tier: 'gold' } }];
    });
    const t0 = Date.now();
    assert.equal(await webhook(d!.url, rev), 202);
    await waitFor('the director to know backup-vm-lab-noos', async () => (await con().jobs()).includes('backup-vm-lab-noos'), 30_000, 100)
      .catch((e: Error) => { throw new Error(e.message + logsTail()); });
    const reloadMs = Date.now() - t0;
    t.diagnostic(`webhook → config tested, installed and reloaded: ${reloadMs} ms`);
    assert.ok(reloadMs < 15_000, `reloaded ${reloadMs} ms after the webhook`);
    assert.match(d!.logs(), /"files":\["bacula-dir.conf"\],"reloaded":true,"msg":"configuration applied"/);
    const text = await readFile(conf, 'utf8');
    assert.equal((await execa('bacula-dir', ['-t', '-c', conf], { reject: false })).exitCode, 0, 'the installed config passes the real bacula-dir -t');
    assert.match(text, /Job \{\n {2}Name = "backup-vm-lab-noos"\n[^}]*Priority = 3\n {2}Schedule = "sched-daily"/);
    assert.ok(text.includes(`Command = "${dir!.dir}/vmbackup backup lab-noos --repo ${env!.stateDir}/repo --state-dir ${env!.stateDir} --bacula-job-id %i"`), 'the RunScript calls the vmbackup CLI with the JobId and the daemon\'s state dir');
    assert.doesNotMatch(text, /@@secret:(env|credential):/, 'secrets are filled in');

    const j = await job('backup-vm-lab-noos', 'T');
    await waitFor('lab-noos backed up', async () => (await ids('lab-noos', 'local')).length === 1, 60_000);
    const [id] = await ids('lab-noos', 'local');
    const bdir = join(env!.storageDir, 'local', 'lab-noos', id!);
    const manifest = JSON.parse(await readFile(join(bdir, 'backup-metadata.json'), 'utf8')) as { bacula_job_id?: string; policy?: { name?: string } };
    assert.equal(manifest.bacula_job_id, String(j.jobId), 'the backup was made by the Bacula job the catalog records');
    const sum = await execa('sha256sum', ['-c', 'checksums.sha256'], { cwd: bdir, reject: false });
    assert.equal(sum.exitCode, 0, sum.stdout + sum.stderr);
    const st = await daemonState(env!.stateDir);
    const run = (st.runs as { vm: string; kind: string; status: string; pid?: number }[]).find((r) => r.vm === 'lab-noos' && r.kind === 'backup');
    assert.equal(run?.status, 'ok');
    assert.notEqual(run?.pid, d!.proc.pid, 'the daemon did not back up in-process: the RunScript\'s CLI did');
    await statusCommit('status: 1 ok, 0 failed, 0 overdue');

    // A success goes to e-mail ("every event"), never to Slack's failure channel. The job ended T
    // after its RunScripts (the CLI drains its notifications before it exits): no long wait needed.
    await t.test('e-mail gets the success of the backup', async () => {
      const mail = await waitFor('the backup mail', async () => mails(/Backup (succeeded|finished with warnings): lab-noos/).at(0), 5_000);
      assert.match(mail.subject, /^\[vmbackup\] Backup (succeeded|finished with warnings): lab-noos$/);
      assert.deepEqual(mail.to, ['ops@lab.invalid']);
      assert.match(mail.text, /^Backup of lab-noos on local succeeded/m);
      assert.match(mail.text, /^VM: lab-noos$/m);
      assert.match(mail.text, /^Hypervisor: local$/m);
      assert.ok(mail.text.includes(`Backup: ${id}`), mail.text);
      assert.match(mail.text, /^Method: snapshot$/m);
    });
    assert.deepEqual(failures().map(header), [], 'no Slack failure message for a success');
    failed = false;
  });

  test('a VM whose backup fails (pre-backup command): Bacula job E, one Slack failure alert; fixed, it recovers', { timeout: 240_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t)) return;
    failed = true;
    const last = Math.max(0, ...(await catalogJobs(dir!.bconsoleConf)).map((x) => x.jobId));
    await quiet('hv1-vm1');
    const rev = await commit('protect hv1-vm1', (p) => {
      p.vms = [...vms(), { name: 'hv1-vm1', hypervisor: 'hv1', method: 'snapshot', priority: 5, labels: { tier: 'gold' }, pre_backup_commands: [['/bin/false']] }];
    });
    assert.equal(await webhook(d!.url, rev), 202);
    const bad = await job('backup-vm-hv1-vm1', 'E', last);
    const alert = await waitFor('the Slack failure alert', async () => failures().find((r) => header(r) === 'Backup failed: hv1-vm1 on hv1'), 60_000);
    await statusCommit('status: 1 ok, 1 failed, 0 overdue');
    assert.equal(failures().length, 1, `exactly one Slack alert for the failed job: ${failures().map(header).join(' | ')}`);
    assert.equal(header(alert), 'Backup failed: hv1-vm1 on hv1');
    assert.match(slackOf(alert).text, /^Backup of hv1-vm1 on hv1 failed at .+: /);
    const f = fieldsOf(alert);
    assert.equal(f.get('VM'), 'hv1-vm1');
    assert.equal(f.get('Hypervisor'), 'hv1');
    assert.equal(f.get('Job'), 'backup');
    assert.equal(f.get('Failed step'), 'pre-backup-commands');
    assert.match(sectionTexts(alert).join('\n'), /\*Error\*\n```.*\/bin\/false/s);
    assert.equal(slackOf(alert).blocks[0]!.type, 'header');
    assert.equal(slackOf(alert).blocks.at(-1)!.type, 'context');
    const mail = await waitFor('the failure mail', async () => mails(/^\[vmbackup\] Backup failed: hv1-vm1 on hv1$/).at(0), 30_000);
    assert.deepEqual([mail.from, mail.to], ['vmbackup@lab.invalid', ['ops@lab.invalid']]);
    assert.match(mail.text, /^Backup of hv1-vm1 on hv1 failed at .+: pre-backup command exited 1: \/bin\/false/m);
    for (const line of ['VM: hv1-vm1', 'Hypervisor: hv1', 'Job: backup', 'Failed step: pre-backup-commands']) assert.match(mail.text, new RegExp(`^${line}$`, 'm'));
    assert.equal(mails(/Backup failed: hv1-vm1/).length, 1, 'one mail: the After RunScript (vmbackup notify) does not repeat it');
    assert.equal((await ids('hv1-vm1', 'hv1')).length, 0, 'nothing published by a failed backup');

    await quiet('hv1-vm1');
    const fix = await commit('hv1-vm1: drop the failing pre-backup command', (p) => {
      p.vms = vms().map((v) => { if (v.name !== 'hv1-vm1') return v; const { pre_backup_commands: _drop, ...rest } = v; return rest; });
    });
    assert.equal(await webhook(d!.url, fix), 202);
    await job('backup-vm-hv1-vm1', 'T', bad.jobId);
    await waitFor('hv1-vm1 backed up', async () => (await ids('hv1-vm1', 'hv1')).length === 1, 60_000);
    await t.test('Slack gets "Recovered: hv1-vm1 on hv1" (Block Kit, fields, the previous error)', async () => {
      const rec = await waitFor('the Slack recovery message', async () => failures().find((r) => header(r) === 'Recovered: hv1-vm1 on hv1'), 5_000);
      const rf = fieldsOf(rec);
      assert.equal(rf.get('VM'), 'hv1-vm1');
      assert.equal(rf.get('Backup'), (await ids('hv1-vm1', 'hv1'))[0]);
      assert.ok(rf.get('Failing since'), 'says since when it was failing');
      assert.match(slackOf(rec).text, /^Backup of hv1-vm1 on hv1 succeeded again after a failure$/);
      assert.match(sectionTexts(rec).join('\n'), /previous error: .*\/bin\/false/s);
    });
    await statusCommit('status: 2 ok, 0 failed, 0 overdue');
    assert.equal(failures().filter((r) => /failed/.test(header(r))).length, 1, `one failure alert in all: ${failures().map(header).join(' | ')}`);
    assert.equal((await daemonState(env!.stateDir)).runs.filter((r) => r.vm === 'hv1-vm1' && r.kind === 'backup' && r.status === 'failed').length, 1, 'the failing backup was tried once (the daemon\'s own status push triggers no retry)');
    failed = false;
  });

  test('broken commits (invalid YAML key; a template bacula-dir -t rejects) change nothing in the director, alert once each; the fix says recovered', { timeout: 240_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t)) return;
    failed = true;
    const good = (await daemonState(env!.stateDir)).daemon!.lastAppliedRevision!;
    const confBefore = await readFile(conf, 'utf8');
    const jobsBefore = (await con().jobs()).sort();
    const n0 = failures().length;
    const attempted = (rev: string) => waitFor(`attempt of ${rev.slice(0, 12)} recorded`, async () => (await daemonState(env!.stateDir)).daemon?.lastAttemptedRevision === rev, 60_000)
      .catch((e: Error) => { throw new Error(e.message + logsTail()); });

    const typo = await commit('typo', (p) => { (p.settings as Record<string, unknown>).sheduler = 'cron'; });
    assert.equal(await webhook(d!.url, typo), 202);
    await attempted(typo);
    assert.match((await daemonState(env!.stateDir)).daemon!.lastAttemptErrors.join('\n'), /^lab\.yaml:\d+:\d+: error: settings\.sheduler: unknown key "sheduler"/m);
    assert.equal(await readFile(conf, 'utf8'), confBefore);
    assert.ok(await applied(good) && !(await applied(typo)));
    assert.equal((await fetch(`${d!.url}/readyz`)).status, 200, 'the last good revision stays in force');

    // A repo template override that renders a config Bacula refuses: tested, rolled back, never loaded.
    const builtin = await readFile(join(ROOT, 'templates', 'bacula-dir.conf.hbs'), 'utf8');
    const broken = await commit('custom director template', (p) => { delete (p.settings as Record<string, unknown>).sheduler; }, { 'templates/bacula-dir.conf.hbs': `${builtin}\nNoSuchResource {\n  Name = "x"\n}\n` });
    assert.equal(await webhook(d!.url, broken), 202);
    await attempted(broken);
    assert.match((await daemonState(env!.stateDir)).daemon!.lastAttemptErrors.join('\n'), /bacula-dir -t rejected the new configuration; the previous files were restored/);
    assert.equal(await readFile(conf, 'utf8'), confBefore, 'the director config is put back byte for byte');
    assert.equal((await execa('bacula-dir', ['-t', '-c', conf], { reject: false })).exitCode, 0);
    assert.deepEqual((await con().jobs()).sort(), jobsBefore, 'the director still runs the last good config');
    // Repeated webhooks for a broken head: no second alert.
    await webhook(d!.url, broken);
    await waitFor('two config alerts', async () => failures().length >= n0 + 2, 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    const alerts = failures().slice(n0);
    assert.deepEqual(alerts.map(header), [`Config revision ${typo.slice(0, 12)} not applied`, `Config revision ${broken.slice(0, 12)} not applied`]);
    assert.match(slackOf(alerts[0]!).text, new RegExp(`^Policy revision ${typo.slice(0, 12)} was not applied because 1 error\\(s\\); still running ${good.slice(0, 12)}$`));
    assert.match(sectionTexts(alerts[0]!).join('\n'), /\*Errors\*\n```lab\.yaml:\d+:\d+: error: settings\.sheduler: unknown key/);
    assert.match(sectionTexts(alerts[1]!).join('\n'), /bacula-dir -t rejected the new configuration/);
    assert.equal(fieldsOf(alerts[1]!).get('In force'), good.slice(0, 12));
    assert.equal(mails(/^\[vmbackup\] Config revision [0-9a-f]{12} not applied$/).length, 2);

    const fixed = await commit('back to the built-in template', () => undefined, { 'templates/bacula-dir.conf.hbs': null });
    assert.equal(await webhook(d!.url, fixed), 202);
    await waitFor('the fix applied', async () => applied(fixed), 60_000);
    const rec = await waitFor('the config recovered message', async () => failures().slice(n0 + 2).at(0), 30_000);
    assert.equal(header(rec), `Recovered: config revision ${fixed.slice(0, 12)} applied`);
    assert.equal(slackOf(rec).text, `Policy revision ${fixed.slice(0, 12)} applied cleanly after broken revision ${broken.slice(0, 12)}`);
    assert.equal(fieldsOf(rec).get('Replaces broken'), broken.slice(0, 12));
    await waitFor('the recovered mail', async () => mails(/^\[vmbackup\] Recovered: config revision/).length === 1, 30_000);
    assert.equal(await readFile(conf, 'utf8'), confBefore, 'the fix renders the config in force: nothing rewritten');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(failures().length, n0 + 3, failures().map(header).join(' | '));
    failed = false;
  });

  test('the director is down while a commit is applied: the previous files stay, one alert; once it is back the revision applies and reloads', { timeout: 180_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t)) return;
    failed = true;
    const confBefore = await readFile(conf, 'utf8');
    const n0 = failures().length;
    await dir!.halt();
    const rev = await commit('gold runs at priority 4', (p) => { (p.policies as Record<string, unknown>[])[0]!.priority = 4; });
    assert.equal(await webhook(d!.url, rev), 202);
    await waitFor('the attempt recorded', async () => (await daemonState(env!.stateDir)).daemon?.lastAttemptedRevision === rev, 60_000).catch((e: Error) => { throw new Error(e.message + logsTail()); });
    const st = (await daemonState(env!.stateDir)).daemon!;
    assert.match(st.lastAttemptErrors.join('\n'), /bconsole could not talk to the director/);
    assert.ok(!(await applied(rev)));
    assert.equal(await readFile(conf, 'utf8'), confBefore, 'a config the director never loaded is not left in place');
    const alert = await waitFor('the alert', async () => failures().slice(n0).at(0), 30_000);
    assert.equal(header(alert), `Config revision ${rev.slice(0, 12)} not applied`);
    assert.match(sectionTexts(alert).join('\n'), /bconsole could not talk to the director/);

    await dir!.start(conf, channels);
    // The next trigger (here a webhook; the poll timer in production) tries the revision again.
    assert.equal(await webhook(d!.url, rev), 202);
    await waitFor('applied once the director is back', async () => applied(rev), 60_000).catch((e: Error) => { throw new Error(e.message + logsTail()); });
    assert.match(await readFile(conf, 'utf8'), /Name = "backup-vm-lab-noos"\n[^}]*Priority = 4\n/);
    assert.match(await con().exec(['show job=backup-vm-lab-noos']), /Priority=4\b/i, 'the director runs the new config');
    const rec = await waitFor('the recovered message', async () => failures().slice(n0 + 1).at(0), 30_000);
    assert.equal(header(rec), `Recovered: config revision ${rev.slice(0, 12)} applied`);
    assert.equal(slackOf(rec).text, `Policy revision ${rev.slice(0, 12)} applied cleanly`, 'the same revision, retried: not "after broken revision" itself');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(failures().length, n0 + 2, failures().slice(n0).map(header).join(' | '));
    failed = false;
  });

  test('the digest (digest_schedule every minute): totals, sizes, overdue, unprotected, storage; to Slack and e-mail', { timeout: 150_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t)) return;
    failed = true;
    const since = Date.now();
    const dg = await waitFor('a digest after the last reconcile', async () => digests().find((r) => r.at > since), 75_000, 500);
    assert.equal(header(dg), 'Backup summary: last 7 days');
    const manifests = await Promise.all([['local', 'lab-noos'], ['hv1', 'hv1-vm1']].map(async ([hv, vm]) => {
      const [id] = await ids(vm!, hv!);
      return JSON.parse(await readFile(join(env!.storageDir, hv!, vm!, id!, 'backup-metadata.json'), 'utf8')) as { total_size_bytes: number };
    }));
    const size = formatBytes(manifests.reduce((n, m) => n + m.total_size_bytes, 0));
    assert.match(slackOf(dg).text, new RegExp(`^2 VMs: 2 ready, 0 failed, 0 overdue\\. Last 7 days: 2 backups succeeded, 1 failed, ${size.replace('.', '\\.')} in .+\\.$`));
    const f = fieldsOf(dg);
    assert.equal(f.get('Total VMs'), '2');
    assert.equal(f.get('Ready'), '2');
    assert.equal(f.get('Failed VMs'), '0');
    assert.equal(f.get('Backups succeeded (7d)'), '2');
    assert.equal(f.get('Backups failed (7d)'), '1');
    assert.equal(f.get('Total size (7d)'), size);
    assert.equal(f.get('Overdue'), '0');
    assert.match(f.get('Storage') ?? '', /^[\d.]+ \w+ of [\d.]+ \w+ \(\d+%\)$/);
    const unprotected = Number(f.get('Unprotected'));
    assert.ok(unprotected >= 3, `unprotected: ${f.get('Unprotected')}`);
    const sections = sectionTexts(dg).join('\n');
    assert.ok(sections.includes(`*Unprotected (${unprotected})*`), sections);
    for (const vm of ['lab-agent (local)', 'hv2-vm1 (hv2)', 'hv2-vm2 (hv2)']) assert.ok(sections.includes(`• ${vm}`), `${vm} listed as unprotected:\n${sections}`);
    assert.doesNotMatch(sections, /\*Overdue|\*Failed \(/);
    const mail = await waitFor('the digest mail', async () => mails(/^\[vmbackup\] Backup summary: last 7 days$/).find((m) => m.text.includes('Backups succeeded (7d): 2')), 30_000);
    assert.match(mail.text, /^Total VMs: 2$/m);
    assert.match(mail.text, new RegExp(`^Total size \\(7d\\): ${size.replace('.', '\\.')}$`, 'm'));
    assert.match(mail.text, /^Unprotected \(\d+\)\n(?: {2}- .+\n)*? {2}- hv2-vm2 \(hv2\)$/m);
    failed = false;
  });

  test('an operator\'s ad-hoc backup through the API runs as a Bacula job: the catalog records it, the manifest carries its JobId, the audit pairs accepted and ok', { timeout: 240_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t)) return;
    failed = true;
    await quiet('lab-noos');
    const before = await ids('lab-noos', 'local');
    const lastJob = Math.max(0, ...(await catalogJobs(dir!.bconsoleConf)).map((j) => j.jobId));
    const res = await fetch(`${d!.url}/api/v1/vms/lab-noos/backup`, { method: 'POST', headers: { authorization: `Bearer ${operator.token}`, 'content-type': 'application/json' }, body: '{}' });
    const body = await res.json() as { id: string; state: string };
    assert.equal(res.status, 202, JSON.stringify(body));
    const done = await waitFor('the ad-hoc action to end', async () => {
      const a = await (await fetch(`${d!.url}/api/v1/actions/${body.id}`, { headers: { authorization: `Bearer ${operator.token}` } })).json() as { state: string; detail?: string };
      return a.state === 'ok' || a.state === 'failed' ? a : undefined;
    }, 180_000, 500).catch((e: Error) => { throw new Error(e.message + logsTail()); });
    assert.equal(done.state, 'ok', `${done.detail}${logsTail()}`);
    assert.match(done.detail ?? '', /^Bacula JobId \d+/, 'through bconsole, so the director\'s catalog stays true');
    const j = await job('backup-vm-lab-noos', 'T', lastJob);
    const after = await ids('lab-noos', 'local');
    const added = after.filter((x) => !before.includes(x));
    assert.equal(added.length, 1, `one new restore point: ${after.join(', ')}`);
    const manifest = JSON.parse(await readFile(join(env!.storageDir, 'local', 'lab-noos', added[0]!, 'backup-metadata.json'), 'utf8')) as { bacula_job_id?: string };
    assert.equal(manifest.bacula_job_id, String(j.jobId));
    const audit = (await readFile(join(env!.stateDir, 'audit', `${new Date().toISOString().slice(0, 7)}.jsonl`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { action_id?: string; result: string; by: string });
    assert.deepEqual(audit.filter((e) => e.action_id === body.id).map((e) => [e.by, e.result]), [['api:ops', 'accepted'], ['api:ops', 'ok']]);
    failed = false;
  });

  test('SIGTERM: exits 0; no Bacula job left running', { timeout: 60_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t)) return;
    const code = await d!.stop('SIGTERM');
    assert.equal(code, 0, d!.logs().slice(-1500));
    const out = await con().exec(['status dir']);
    assert.match(out, /No Jobs running\./);
  });
});
