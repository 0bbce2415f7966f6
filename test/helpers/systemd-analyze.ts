// The real `systemd-analyze` on unit files (no systemd PID 1 needed): verify resolves ExecStart=
// on the host, so it runs with --root on a scratch tree holding the units, stub programs, and a
// copy of the distribution's units (sysinit.target …).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const analyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim();

/** True when systemd-analyze is here; with CI=true its absence fails the test. */
export function requireAnalyze(t: { skip(msg: string): void }): boolean {
  if (analyze) return true;
  if (process.env.CI === 'true') assert.fail('systemd-analyze is missing: bash test/setup.sh installs the systemd package');
  t.skip('systemd-analyze not installed (bash test/setup.sh installs it)');
  return false;
}

/** A scratch root with `units` in /etc/systemd/system and `stubs` (exit 0) in /usr/bin. */
export async function scratchRoot(units: Record<string, string>, stubs: readonly string[] = ['vmbackup', 'kill']): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'vmb-unit-'));
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await mkdir(join(root, 'usr/lib/systemd'), { recursive: true });
  await mkdir(join(root, 'etc/systemd/system'), { recursive: true });
  await symlink('usr/bin', join(root, 'bin'));
  for (const s of stubs) await writeFile(join(root, 'usr/bin', s), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const dist = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((d) => existsSync(join(d, 'sysinit.target')));
  assert.ok(dist, 'the systemd package ships sysinit.target');
  await cp(dist, join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  for (const [name, text] of Object.entries(units)) await writeFile(join(root, 'etc/systemd/system', name), text);
  return root;
}

export function runAnalyze(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(analyze, args, { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: 'cat', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
