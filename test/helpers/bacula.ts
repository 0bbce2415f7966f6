// A real Bacula director on loopback for tests: a scratch working dir with a sqlite catalog, a
// bconsole.conf, and `bacula-dir -f` as a child process (killed in stop()).
import type { TestContext } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CATALOG_SCHEMA = '/usr/share/dbconfig-common/data/bacula-director-sqlite3/install/sqlite3';

export function baculaOrSkip(t: TestContext): boolean {
  const ok = existsSync('/usr/sbin/bacula-dir') && existsSync(CATALOG_SCHEMA);
  if (ok) return true;
  if (process.env.CI === 'true') throw new Error('CI=true and bacula-director is not installed (bash test/setup.sh)');
  t.skip('bacula-director is not installed (bash test/setup.sh)');
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
    s.on('error', rej);
  });
}

export interface Director {
  dir: string;
  port: number;
  password: string;
  workDir: string;
  logFile: string;
  bconsoleConf: string;
  /** YAML for settings.bacula pointing at this director. */
  settingsYaml: string;
  /** The same settings.bacula as an object (for policies built with `yaml.stringify`). */
  settings: Record<string, unknown>;
  /** `env` is added to the director's environment, which its RunScripts inherit. */
  start(configFile: string, env?: Record<string, string>): Promise<void>;
  /** Stops the director and keeps its files, so start() can bring it back (an outage). */
  halt(): Promise<void>;
  stop(): Promise<void>;
  log(): Promise<string>;
}

export async function scratchDirector(): Promise<Director> {
  const dir = await mkdtemp(join(tmpdir(), 'vmb-bacula-'));
  const workDir = join(dir, 'work');
  await mkdir(workDir, { recursive: true });
  await execa('sqlite3', [join(workDir, 'bacula.db')], { inputFile: CATALOG_SCHEMA });
  const port = await freePort();
  const password = `pw-${port}-"quoted\\`;
  const logFile = join(dir, 'bacula.log');
  const bconsoleConf = join(dir, 'bconsole.conf');
  const escaped = password.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  await writeFile(bconsoleConf, `Director {\n  Name = vmbackup-dir\n  DIRport = ${port}\n  address = 127.0.0.1\n  Password = "${escaped}"\n}\n`, { mode: 0o600 });
  let child: ResultPromise | undefined;
  const d: Director = {
    dir, port, password, workDir, logFile, bconsoleConf,
    settingsYaml: [
      '  bacula:',
      '    director_name: vmbackup-dir',
      '    director_address: 127.0.0.1',
      `    director_port: ${port}`,
      '    password: { env: TEST_BACULA_DIR_PASSWORD }',
      `    working_directory: ${workDir}`,
      `    pid_directory: ${workDir}`,
      `    log_file: ${logFile}`,
      '    catalog: { db_name: bacula, db_user: "" }',
    ].join('\n'),
    settings: {
      director_name: 'vmbackup-dir', director_address: '127.0.0.1', director_port: port,
      password: { env: 'TEST_BACULA_DIR_PASSWORD' }, working_directory: workDir, pid_directory: workDir,
      log_file: logFile, catalog: { db_name: 'bacula', db_user: '' },
    },
    async start(configFile, env = {}) {
      child = execa('bacula-dir', ['-f', '-c', configFile], { reject: false, stdio: 'ignore', env });
      for (let i = 0; i < 50; i++) {
        const r = await execa('bconsole', ['-n', '-c', bconsoleConf], { input: 'version\nquit\n', reject: false, timeout: 5000 });
        if (/Version/.test(String(r.stdout))) return;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error('bacula-dir did not come up');
    },
    async halt() {
      child?.kill('SIGTERM');
      await child;
      child = undefined;
    },
    async stop() {
      child?.kill('SIGTERM');
      await child;
      await rm(dir, { recursive: true, force: true });
    },
    async log() { try { return await readFile(logFile, 'utf8'); } catch { return ''; } },
  };
  return d;
}

export interface CatalogJob { jobId: number; name: string; type: string; status: string }

/** Jobs the director's catalog records (`list jobs`), parsed from bconsole's table. */
export async function catalogJobs(bconsoleConf: string): Promise<CatalogJob[]> {
  const r = await execa('bconsole', ['-n', '-c', bconsoleConf], { input: 'list jobs\nquit\n', reject: false, timeout: 30_000 });
  const rows = String(r.stdout).split('\n').filter((l) => l.startsWith('|')).map((l) => l.split('|').slice(1, -1).map((c) => c.trim().replace(/,/g, '')));
  const head = rows.shift()?.map((c) => c.toLowerCase()) ?? [];
  const col = (n: string): number => head.indexOf(n);
  return rows.map((c) => ({ jobId: Number(c[col('jobid')]), name: c[col('name')] ?? '', type: c[col('type')] ?? '', status: c[col('jobstatus')] ?? '' }));
}
