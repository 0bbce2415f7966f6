// Bytes read by a command and every process it starts on this machine (the control host): the
// command runs in a cgroup v2 directory of its own, so its whole process tree stays findable —
// also ssh's ControlMaster, which daemonizes out of the tree. The cgroup's members are sampled
// every few ms and their `rchar` (/proc/<pid>/io: every byte read(2) returned — files on the NFS
// mount or the page cache, pipes, sockets — which io.stat, block I/O only, would miss) is summed
// with each process's last value. A process that lives less than one sample period is missed:
// only short-lived ones (ssh clients, virsh) can, and they move command output, not images.
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface CtlIo { code: number; stdout: string; stderr: string; ms: number; rcharBytes: number; processes: number }

async function cgroup2Root(): Promise<string> {
  const m = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2');
  if (!m?.[1]) throw new Error('no cgroup2 mount: control-host bytes read cannot be measured');
  return m[1];
}

const members = async (dir: string): Promise<number[]> =>
  (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);

async function rchar(pid: number): Promise<number | undefined> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => undefined);
  const m = io && /^rchar: (\d+)$/m.exec(io);
  return m ? Number(m[1]) : undefined;
}

/** Runs argv (on this machine) inside a fresh cgroup and reports the bytes its process tree read. */
export async function measureCtlReads(argv: readonly string[], o: { env?: Record<string, string>; timeoutMs?: number; sampleMs?: number } = {}): Promise<CtlIo> {
  const dir = join(await cgroup2Root(), `vmb-ctlio-${process.pid}-${Date.now().toString(36)}`);
  await mkdir(dir);
  const last = new Map<number, number>();
  const sample = async (): Promise<void> => {
    for (const pid of await members(dir)) {
      const v = await rchar(pid);
      if (v !== undefined) last.set(pid, Math.max(v, last.get(pid) ?? 0));
    }
  };
  const t0 = performance.now();
  // The shell joins the cgroup, then becomes the command: the script is constant, argv passes through "$@".
  const child = execa('sh', ['-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'ctl-io', dir, ...argv], { reject: false, timeout: o.timeoutMs ?? 600_000, ...(o.env ? { env: o.env } : {}), encoding: 'utf8' });
  let done = false;
  const sampler = (async () => { while (!done) { await sample(); await new Promise((r) => setTimeout(r, o.sampleMs ?? 10)); } })();
  const r = await child;
  const ms = performance.now() - t0;
  done = true;
  await sampler;
  await sample(); // what is still alive (the ssh ControlMaster)
  // Stop what the command left in its cgroup (ssh masters it started), one pid at a time.
  for (let i = 0; i < 50; i++) {
    const left = await members(dir);
    if (!left.length) break;
    for (const pid of left) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
    await new Promise((res) => setTimeout(res, 100));
  }
  await rmdir(dir).catch(() => undefined);
  return { code: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), ms, rcharBytes: [...last.values()].reduce((a, b) => a + b, 0), processes: last.size };
}
