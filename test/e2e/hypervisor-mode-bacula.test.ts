// Hypervisor mode end to end on real Bacula: a director on the control host, a real bacula-fd in
// each namespace hypervisor (hv1, hv2, runs_on: hypervisor) running the vmbackup CLI there on the
// revision published to it. A job ends T with the backup written by the streaming writer and its
// JobId in the manifest; a failing VM ends the job in error and alerts; with the Director's limit
// at 2 and each Client's at 1, the two hypervisors back up at the same time, each one VM at a time.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { daemonState, waitFor } from '../helpers/daemon.js';
import { baculaOrSkip, scratchDirector, type Director } from '../helpers/bacula.js';
import { baculaFdOrSkip, startFileDaemon, type FileDaemon } from '../helpers/bacula-fd.js';
import { startHttpReceiver, type Captured, type HttpReceiver } from '../helpers/receivers.js';
import { waitQuiet, type FaultEnv } from '../helpers/faults.js';
import { CLI } from '../helpers/paths.js';
import { labPolicy } from '../lab/policy-repo.js';
import { loadLab, type Lab } from '../lab/lab.js';
import { loadPolicyRepo } from '../../src/core/load.js';
import { readPolicyFilesFromDir } from '../../src/adapters/policy-files.js';
import { resolveTemplates } from '../../src/adapters/templates.js';
import { applyDesired } from '../../src/daemon/apply.js';
import { Hosts } from '../../src/engine/hosts.js';
import { publishRevision } from '../../src/adapters/git/publish-revision.js';

const ID_RE = /^\d{4}-\d{2}-\d{2}-\d{6}$/;
const header = (c: Captured): string => ((c.json as { blocks: { type: string; text?: { text: string } }[] }).blocks.find((b) => b.type === 'header')?.text?.text ?? '');
interface JobRow { jobId: number; name: string; status: string; start: number; end: number }

describe('hypervisor mode on real Bacula file daemons (hv1, hv2)', () => {
  let lab: Lab | undefined;
  let env: LabEnv | undefined;
  let repo: TestRepo | undefined;
  let dir: Director | undefined;
  let slack: HttpReceiver | undefined;
  const fds: FileDaemon[] = [];
  const root = `/var/tmp/vmb-hvmode-e2e-${process.pid}`;
  const FD_PASSWORD = `fd-${process.pid}-"pw\\`;
  const con = (cmds: string): Promise<string> => execa('bconsole', ['-n', '-c', dir!.bconsoleConf], { input: `${cmds}\nquit\n`, reject: false, timeout: 60_000 }).then((r) => String(r.stdout));
  const bt = (s: string | undefined): number => (s ? Date.parse(`${s.replace(' ', 'T')}Z`) : NaN);
  /** One job from the catalog (`llist jobid=`), with its start and end times. */
  async function jobRow(jobId: number): Promise<JobRow> {
    const out = await con(`llist jobid=${jobId}`);
    const f = (k: string): string | undefined => new RegExp(`^\\s*${k}: (.*)$`, 'm').exec(out)?.[1]?.trim();
    return { jobId, name: f('Name') ?? '', status: f('JobStatus') ?? '', start: bt(f('StartTime')), end: bt(f('EndTime')) };
  }
  /** `run job=… yes` → its JobId. */
  async function run(job: string): Promise<number> {
    const out = await con(`run job=${job} yes`);
    const m = /JobId=(\d+)/.exec(out);
    assert.ok(m, `no JobId for ${job}: ${out}`);
    return Number(m[1]);
  }
  const diag = async (): Promise<string> => `\n--- bacula log ---\n${(await dir!.log()).slice(-6000)}\n--- fds ---\n${fds.map((f) => f.log().slice(-1500)).join('\n')}`;
  const done = (jobId: number, timeoutMs = 150_000): Promise<JobRow> => waitFor(`job ${jobId} to end`, async () => { const j = await jobRow(jobId); return /^[TEfA]$/.test(j.status) ? j : undefined; }, timeoutMs, 500)
    .catch(async (e: Error) => { throw new Error(e.message + (await diag())); });
  const points = async (hv: string, vm: string): Promise<string[]> => (await readdir(join(env!.storageDir, hv, vm)).catch(() => [])).filter((n) => ID_RE.test(n)).sort();
  const faultView = (): FaultEnv => ({ lab, stateDir: env!.stateDir, storage: env!.storageDir, remoteStorage: join(lab!.storage.remoteDir, env!.storageDir.slice(lab!.storage.dir.length + 1)) }) as FaultEnv;

  before(async () => {
    lab = loadLab();
    if (!lab || !existsSync('/usr/sbin/bacula-dir') || !existsSync('/usr/sbin/bacula-fd')) return;
    env = await labEnv(lab, { isolate: true });
    slack = await startHttpReceiver();
    dir = await scratchDirector();
    await mkdir(root, { recursive: true });
    // The same command path on the director and on the hypervisors (/var/tmp and /work are shared with the namespaces).
    const command = join(root, 'vmbackup');
    await writeFile(command, `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`);
    await chmod(command, 0o755);
    const remoteStorage = join(lab.storage.remoteDir, env.storageDir.slice(lab.storage.dir.length + 1));
    const hvMode = (hv: string) => ({ runs_on: 'hypervisor', state_dir: join(root, hv), max_concurrent_jobs: 1 });
    const base = labPolicy(lab, { controlDir: join(env.root, 'ssh'), storageRoot: env.storageDir, remoteStorageRoot: remoteStorage, withVms: ['lab-tpm'], hostOverrides: { hv1: hvMode('hv1'), hv2: hvMode('hv2') } });
    // Each backup lasts at least 3 s (a pre-backup command on the hypervisor), so overlaps show in the catalog's 1 s times.
    const slow = { pre_backup_commands: [['/bin/sleep', '3']] };
    const vms = (base.vms as Record<string, unknown>[]).filter((v) => ['hv1-vm1', 'lab-tpm', 'hv2-vm1', 'hv2-vm2'].includes(v.name as string)).map((v) => ({ ...v, ...slow }));
    const policy = {
      settings: {
        ...(base.settings as Record<string, unknown>),
        scheduler: 'bacula', time_zone: 'UTC',
        bacula: { ...dir.settings, command, repo_path: join(env.stateDir, 'repo'), max_concurrent_jobs: 2 },
        notifications: { slack: { failure_webhook: { env: 'SLACK_FAILURE_WEBHOOK' } } },
      },
      hypervisors: base.hypervisors,
      // hvm-missing: a VM of the policy that hv2's libvirt does not have.
      vms: [...vms, { name: 'hvm-missing', hypervisor: 'hv2', method: 'snapshot', priority: 10, schedule: 'weekly', retention: { keep_last: 3 } }],
    };
    const src = join(env.root, 'seed');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'lab.yaml'), stringify(policy));
    repo = await makeRepo(src);
    await execa('git', ['clone', '-q', repo.bare, join(env.stateDir, 'repo')]);
    const channels = { VMBACKUP_ALLOW_PLAINTEXT_HTTP: '1', SLACK_FAILURE_WEBHOOK: slack.url('/failure'), VMBACKUP_STATE_DIR: env.stateDir, NO_COLOR: '1' };
    const secrets = { TEST_BACULA_DIR_PASSWORD: dir.password, BACULA_FD_PASSWORD: FD_PASSWORD, BACULA_SD_PASSWORD: 'sd-placeholder', ...channels };
    const load = loadPolicyRepo(await readPolicyFilesFromDir(repo.work));
    assert.ok(load.ok, JSON.stringify(load.diagnostics));
    // What the daemon does on apply: the director's config, then the revision to each runs_on: hypervisor host.
    await applyDesired(load.desired, await resolveTemplates(new Map()), { baculaConfigDir: dir.dir, cronFile: join(env.root, 'unused.cron') }, secrets);
    const rev = (await repo.git('rev-parse', 'HEAD')).trim();
    const hosts = new Hosts(load.desired);
    try {
      for (const hv of ['hv1', 'hv2']) await publishRevision(repo.work, rev, hosts.get(hv).transport, join(root, hv));
    } finally {
      await hosts.closeAll();
    }
    for (const hv of ['hv1', 'hv2']) fds.push(await startFileDaemon(lab.hosts.find((h) => h.name === hv)!, { directorName: 'vmbackup-dir', password: FD_PASSWORD, dir: root, env: { NO_COLOR: '1' } }));
    await dir.start(join(dir.dir, 'bacula-dir.conf'), channels);
  });

  after(async () => {
    for (const f of fds) await f.stop().catch(() => undefined);
    await dir?.stop().catch(() => undefined);
    await slack?.close();
    await repo?.cleanup();
    await env?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  test('a job of hv1-vm1 runs on hv1-fd: T, the manifest records the JobId, the streaming writer wrote it, the director recorded an ok run', { timeout: 200_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t) || !baculaFdOrSkip(t)) return;
    await waitQuiet(faultView(), ['hv1-vm1'], 120_000);
    const conf = await readFile(join(dir!.dir, 'bacula-dir.conf'), 'utf8');
    assert.match(conf, /Name = "backup-vm-hv1-vm1"\n[^}]*Type = Verify\n {2}Level = InitCatalog\n[^}]*Client = "hv1-fd"/);
    const id = await run('backup-vm-hv1-vm1');
    const j = await done(id);
    assert.equal(j.status, 'T', `job ${id} ${j.status}${await diag()}`);
    const log = await dir!.log();
    assert.match(log, new RegExp(`hv1-fd JobId ${id}: shell command: run ClientBeforeJob ".*backup hv1-vm1 .*--on-hypervisor hv1 --bacula-job-id ${id}"`), 'the backup ran on hv1\'s file daemon');
    const [pid] = await points('hv1', 'hv1-vm1');
    assert.ok(pid, 'a restore point of hv1-vm1 on the shared storage');
    const manifest = JSON.parse(await readFile(join(env!.storageDir, 'hv1', 'hv1-vm1', pid, 'backup-metadata.json'), 'utf8')) as { bacula_job_id?: string; files: { writer?: string; name?: string }[] };
    assert.equal(manifest.bacula_job_id, String(id));
    const images = manifest.files.filter((f) => f.writer !== undefined);
    assert.ok(images.length >= 2, JSON.stringify(manifest.files));
    assert.ok(images.every((f) => f.writer === 'stream'), `every image written by the streaming writer: ${JSON.stringify(manifest.files)}`);
    // Bacula writes T to the catalog before its After RunScripts (the director-side notify) end.
    const ctl = await waitFor('the director-side notify to record the run', async () => (await daemonState(env!.stateDir).catch(() => undefined))?.runs.find((r) => r.vm === 'hv1-vm1' && r.kind === 'backup'), 30_000)
      .catch(async (e: Error) => { throw new Error(e.message + (await diag())); });
    assert.equal(ctl.status, 'ok', 'the director-side notify recorded an ok run');
    assert.equal(ctl?.backupId, pid);
  });

  test('a VM hv2 does not have: the job ends in error and Slack gets the alert', { timeout: 120_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t) || !baculaFdOrSkip(t)) return;
    const id = await run('backup-vm-hvm-missing');
    const j = await done(id);
    assert.match(j.status, /^[Ef]$/, `job ${id} ${j.status}`);
    const alert = await waitFor('the Slack failure alert', async () => slack!.requests.find((r) => r.path === '/failure' && header(r) === 'Backup failed: hvm-missing on hv2'), 30_000)
      .catch(async (e: Error) => { throw new Error(`${e.message}: ${slack!.requests.map(header).join(' | ')}${await diag()}`); });
    assert.match((alert.json as { text: string }).text, new RegExp(`Bacula job ${id} on hv2-fd ended`));
    assert.equal((await daemonState(env!.stateDir)).runs.filter((r) => r.vm === 'hvm-missing' && r.status === 'failed').length, 1, 'one failed run recorded on the control host');
  });

  test('Director limit 2, each Client 1: hv1 and hv2 back up at the same time, each one VM at a time', { timeout: 240_000 }, async (t) => {
    if (!labOrSkip(t) || !baculaOrSkip(t) || !baculaFdOrSkip(t)) return;
    await waitQuiet(faultView(), ['hv1-vm1', 'lab-tpm', 'hv2-vm1', 'hv2-vm2'], 120_000);
    const ids: number[] = [];
    for (const vm of ['hv1-vm1', 'lab-tpm', 'hv2-vm1', 'hv2-vm2']) ids.push(await run(`backup-vm-${vm}`));
    const rows: JobRow[] = [];
    for (const id of ids) rows.push(await done(id, 200_000));
    t.diagnostic(rows.map((r) => `${r.name} ${r.status} ${new Date(r.start).toISOString().slice(11, 19)}-${new Date(r.end).toISOString().slice(11, 19)}`).join('; '));
    assert.deepEqual(rows.map((r) => r.status), ['T', 'T', 'T', 'T'], await diag());
    const [a1, a2, b1, b2] = rows as [JobRow, JobRow, JobRow, JobRow];
    const overlap = (x: JobRow, y: JobRow): boolean => x.start < y.end && y.start < x.end;
    assert.ok(!overlap(a1, a2), 'hv1 ran one VM at a time');
    assert.ok(!overlap(b1, b2), 'hv2 ran one VM at a time');
    assert.ok([[a1, b1], [a1, b2], [a2, b1], [a2, b2]].some(([x, y]) => overlap(x!, y!)), 'a job of hv1 overlapped a job of hv2');
  });
});
