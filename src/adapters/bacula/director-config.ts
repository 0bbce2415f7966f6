// Installs a rendered director config the safe way: write every file atomically (keeping the old
// owner and group, so the `bacula` user can still read it; a file holding a secret 0600/0640), test it with the real
// `bacula-dir -t`, and put the previous files back if the test fails. Then `bconsole reload`; if
// the director cannot be reloaded the previous files go back too.
import { execa } from 'execa';
import { readFile, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { installMode } from '../file-mode.js';
import { BconsoleError, type Bconsole } from './bconsole.js';

export interface ConfigFile { path: string; content: string; mode: number }

export interface ApplyResult { changed: boolean; files: string[]; reloaded: boolean }

export class DirectorConfigError extends Error {
  constructor(message: string, readonly output: string) { super(message); this.name = 'DirectorConfigError'; }
}

/** The files passed `bacula-dir -t` but the director could not be reloaded (it may be down): worth retrying. */
export class DirectorReloadError extends DirectorConfigError {
  constructor(message: string, output: string) { super(message, output); this.name = 'DirectorReloadError'; }
}

/** `bacula-dir -t` needs an absolute -c (a relative one is silently resolved under /etc/bacula). */
export async function testDirectorConfig(mainFile: string, binary = 'bacula-dir'): Promise<{ ok: boolean; output: string }> {
  if (!isAbsolute(mainFile)) throw new Error(`bacula-dir -t needs an absolute path, got ${mainFile}`);
  const r = await execa(binary, ['-t', '-c', mainFile], { reject: false, timeout: 60_000, encoding: 'utf8' });
  const output = (String(r.stdout ?? '') + String(r.stderr ?? '')).trim();
  return { ok: r.exitCode === 0, output };
}

async function current(path: string): Promise<{ content: string; mode: number; uid: number; gid: number } | undefined> {
  try {
    const [content, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { content, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch {
    return undefined;
  }
}

/** Mode and owner from ../file-mode.ts: a file holding a secret is 0600/0640 whatever the old mode. */
async function put(path: string, content: string, like: { mode: number; uid: number; gid: number } | undefined, wanted: number): Promise<void> {
  const d = like ? undefined : await stat(dirname(path)).catch(() => undefined);
  const t = installMode(wanted, like, d && { mode: d.mode, uid: d.uid, gid: d.gid }, process.getuid?.() === 0);
  await writeFileAtomic(path, content, t.mode, t.owner);
}

/** `scrub` takes filled secrets out of error texts (bacula-dir -t echoes the offending config line). */
export async function applyDirectorConfig(dir: string, mainName: string, files: readonly ConfigFile[], bconsole: Bconsole | undefined, binary = 'bacula-dir', scrub: (s: string) => string = (s) => s): Promise<ApplyResult> {
  const olds = new Map<string, Awaited<ReturnType<typeof current>>>();
  for (const f of files) olds.set(f.path, await current(join(dir, f.path)));
  const changed = files.filter((f) => olds.get(f.path)?.content !== f.content);
  if (!changed.length) return { changed: false, files: [], reloaded: false };
  for (const f of changed) await put(join(dir, f.path), f.content, olds.get(f.path), f.mode);
  const restore = async (): Promise<void> => {
    for (const f of changed) {
      const old = olds.get(f.path);
      if (old) await put(join(dir, f.path), old.content, old, f.mode);
      else await rm(join(dir, f.path), { force: true });
    }
  };
  const t = await testDirectorConfig(join(dir, mainName), binary);
  if (!t.ok) {
    await restore();
    const output = scrub(t.output);
    throw new DirectorConfigError(`bacula-dir -t rejected the new configuration; the previous files were restored: ${output.split('\n').filter(Boolean).slice(0, 4).join(' | ')}`, output);
  }
  // A director that was not reloaded runs the old files: put them back, so the next apply sees the
  // change again and retries instead of finding "nothing changed".
  if (bconsole) {
    try { await bconsole.reload(); } catch (e) {
      await restore();
      throw new DirectorReloadError(scrub(`${(e as Error).message}; the previous files were restored`), scrub(e instanceof BconsoleError ? e.output : ''));
    }
  }
  return { changed: true, files: changed.map((f) => f.path), reloaded: Boolean(bconsole) };
}
