// A real bacula-fd inside one of the lab's namespace hypervisors, for a test's duration: it listens
// on the hypervisor's own address and runs the director's RunsOnClient scripts as root there (that
// hypervisor's libvirt at qemu:///system, its storage at /mnt/backup). Killed in stop().
import type { TestContext } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { LabHost } from '../lab/lab.js';

export function baculaFdOrSkip(t: TestContext): boolean {
  if (existsSync('/usr/sbin/bacula-fd')) return true;
  if (process.env.CI === 'true') throw new Error('CI=true and bacula-fd is not installed (bash test/setup.sh)');
  t.skip('bacula-fd is not installed (bash test/setup.sh)');
  return false;
}

export interface FileDaemon { name: string; address: string; port: number; password: string; dir: string; stop(): Promise<void>; log(): string }

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

const reachable = (host: string, port: number): Promise<boolean> => new Promise((res) => {
  const s = createConnection({ host, port, timeout: 500 }, () => { s.destroy(); res(true); });
  s.on('error', () => res(false));
  s.on('timeout', () => { s.destroy(); res(false); });
});

/**
 * Starts `<host>-fd` in `host`'s namespaces (its lab.json `exec` prefix). `dir` must be a path the
 * namespace sees (under /var/tmp); `env` is the environment its RunScripts inherit.
 */
export async function startFileDaemon(host: LabHost, o: { directorName: string; password: string; dir: string; port?: number; env?: Record<string, string> }): Promise<FileDaemon> {
  const name = `${host.name}-fd`;
  const port = o.port ?? 9102;
  const dir = join(o.dir, name);
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'bacula-fd.conf');
  await writeFile(conf, [
    'Director {', `  Name = ${quote(o.directorName)}`, `  Password = ${quote(o.password)}`, '}',
    'FileDaemon {', `  Name = ${quote(name)}`, `  FDAddress = ${host.address}`, `  FDport = ${port}`,
    `  WorkingDirectory = ${quote(dir)}`, `  Pid Directory = ${quote(dir)}`, '  Maximum Concurrent Jobs = 10', '}',
    'Messages {', '  Name = Standard', `  director = ${quote(o.directorName)} = all, !skipped, !restored`, '}', '',
  ].join('\n'), { mode: 0o600 });
  const t = await execa('bacula-fd', ['-t', '-c', conf], { reject: false });
  if (t.exitCode !== 0) throw new Error(`bacula-fd -t rejected ${conf}: ${t.stdout}${t.stderr}`);
  let out = '';
  // nsenter without --pid execs bacula-fd: this child's pid is the fd's own.
  const child: ResultPromise = execa(host.exec[0] ?? 'bacula-fd', [...host.exec.slice(1), ...(host.exec.length ? ['bacula-fd'] : []), '-f', '-c', conf], { reject: false, all: true, env: o.env ?? {}, extendEnv: true });
  child.all?.on('data', (b: Buffer) => { out += b.toString(); });
  for (let i = 0; i < 100 && !(await reachable(host.address, port)); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await reachable(host.address, port))) {
    child.kill('SIGKILL');
    await child;
    throw new Error(`${name} did not listen on ${host.address}:${port}: ${out}`);
  }
  return {
    name, address: host.address, port, password: o.password, dir,
    log: () => out,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([child, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) { child.kill('SIGKILL'); await child; }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
