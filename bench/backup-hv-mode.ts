// The hypervisor-mode contender of bench/backup-ssh.ts (issue 11): the policy at a revision with
// hv1 `runs_on: hypervisor` is published into hv1's state dir over ssh (publishRevision, as the
// control daemon does; a child process measured with the control-host cgroup method), then
// vmbackup runs ON hv1 as its bacula-fd would run it (inside hv1's namespaces with the lab's exec
// prefix, `--on-hypervisor hv1`). The hypervisor-side process tree is not a control-host process:
// its rchar is reported apart, to show the data is read once there.
//
//   node dist/bench/backup-hv-mode.js publish REPO REVISION STATE_DIR   (the measured publish step)
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLab, type Lab } from '../test/lab/lab.js';
import { measureCtlReads } from '../test/helpers/ctl-io.js';
import { makeRepo, type TestRepo } from '../test/helpers/git-repo.js';
import { faultEnv, hostOf, scratchVmPolicy, type FaultEnv } from '../test/helpers/faults.js';
import { publishRevision } from '../src/adapters/git/publish-revision.js';
import { SshTransport } from '../src/adapters/transport/ssh.js';
import { BenchFailure } from './backup-exec.js';

/** One measured backup: wall time, control-host reads, and what the manifest and hypervisor say. */
export interface Measured { wallMs: number; ctlReadBytes: number; imageBytes: number; writer: string; hvReadBytes?: number; publishMs?: number }

/** The image bytes and writer of disk vda recorded in a published backup's manifest. */
export async function manifestVda(dir: string): Promise<{ imageBytes: number; writer: string }> {
  const m = JSON.parse(await readFile(join(dir, 'backup-metadata.json'), 'utf8')) as { files: { target?: string; size_bytes: number; writer?: string }[] };
  const f = m.files.find((x) => x.target === 'vda');
  if (!f) throw new BenchFailure(`${dir}: no vda in the manifest`);
  return { imageBytes: f.size_bytes, writer: f.writer ?? '(not recorded)' };
}

export interface HvMode { run(): Promise<Measured>; cleanup(): Promise<void> }

/** Sets up the hypervisor-mode policy (a git repo) for VM `name` on hv1 and returns its contender. */
export async function hvModeContender(lab: Lab, name: string): Promise<HvMode> {
  const hv = hostOf(lab, 'hv1');
  if (!hv.exec.length) throw new BenchFailure('hv1 has no exec prefix in lab.json: cannot run vmbackup inside it');
  // /var/tmp is shared with the namespace hypervisors, so the control host can clean it up.
  const hvState = `/var/tmp/vmb-bench-hvmode-${process.pid}`;
  const env: FaultEnv = await faultEnv(lab, {
    extraVms: [scratchVmPolicy(name, { hypervisor: 'hv1', allow_offline: true })],
    hostOverrides: { hv1: { runs_on: 'hypervisor', state_dir: hvState } },
  });
  const repo: TestRepo = await makeRepo(env.repo);
  const revision = (await repo.git('rev-parse', 'HEAD')).trim();
  const self = fileURLToPath(import.meta.url);
  const cli = fileURLToPath(new URL('../src/main.js', import.meta.url));
  return {
    async run() {
      // A fresh state dir each run: every publish sends the objects (a hypervisor's first publish, the worst case).
      await rm(hvState, { recursive: true, force: true });
      const pub = await measureCtlReads([process.execPath, self, 'publish', repo.work, revision, hvState]);
      if (pub.code !== 0) throw new BenchFailure(`publish: exit ${pub.code}: ${pub.stderr.slice(-2000)}`);
      // measureCtlReads only groups and samples the tree; here the tree is hv1's own vmbackup.
      const on = await measureCtlReads([...hv.exec, process.execPath, cli, 'backup', name, '--repo', join(hvState, 'repo'), '--state-dir', hvState, '--on-hypervisor', 'hv1', '--json'], { env: { ...process.env as Record<string, string>, NO_COLOR: '1' } });
      if (on.code !== 0) throw new BenchFailure(`vmbackup on hv1: exit ${on.code}: ${on.stderr.slice(-2000)}`);
      const r = JSON.parse(on.stdout) as { backupId?: string; status: string };
      if (!r.backupId) throw new BenchFailure(`vmbackup on hv1: no backup id (status ${r.status})`);
      const dir = join(env.storage, 'hv1', name, r.backupId);
      const m = await manifestVda(dir);
      await rm(dir, { recursive: true, force: true });
      return { wallMs: on.ms, ctlReadBytes: pub.rcharBytes, imageBytes: m.imageBytes, writer: m.writer, hvReadBytes: on.rcharBytes, publishMs: pub.ms };
    },
    async cleanup() {
      await rm(hvState, { recursive: true, force: true });
      await repo.cleanup();
      await env.cleanup();
    },
  };
}

/** The publish step in a process of its own (so the cgroup sees node, git and ssh, and nothing else). */
async function publishMain(repoDir: string, revision: string, stateDir: string): Promise<void> {
  const lab = loadLab();
  if (!lab) throw new BenchFailure('no lab is up');
  const hv = hostOf(lab, 'hv1');
  const ctl = await mkdtemp(join(tmpdir(), 'vmb-bpub-'));
  const t = new SshTransport({ host: 'hv1', address: hv.address, user: 'root', port: hv.sshPort, identity: lab.ssh.key }, { knownHosts: lab.ssh.knownHosts, controlDir: ctl });
  try {
    const o = await publishRevision(repoDir, revision, t, stateDir);
    process.stdout.write(JSON.stringify(o) + '\n');
  } finally {
    await t.close();
    await rm(ctl, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('backup-hv-mode.js') && process.argv[2] === 'publish') {
  const [repoDir, revision, stateDir] = process.argv.slice(3);
  publishMain(repoDir!, revision!, stateDir!).catch((err: unknown) => {
    process.stderr.write(`publish: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
