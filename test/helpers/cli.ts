// Runs the built CLI as a child process, the way users and CI run it.
import { execa } from 'execa';
import { CLI } from './paths.js';

export async function vmbackup(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, cwd: opts.cwd, env: { NO_COLOR: '1', ...opts.env } });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
