// git refuses a repository owned by another user ("dubious ownership") unless safe.directory
// names it in protected (system or global) config; `-c` is not enough for the upload-pack and
// receive-pack git starts inside the source. The operator named a local --repo path explicitly, so
// the daemon trusts that one directory: its git runs with a global config of its own that includes
// the user's and adds exactly that path.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { isRemoteSource } from './checkout.js';


/**
 * For a local source owned by another user: the `GIT_CONFIG_GLOBAL` to run git with (written
 * under `stateDir`). Undefined for URLs, for a source we own, or when it cannot be checked.
 */
export async function safeSourceConfig(source: string, stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (isRemoteSource(source)) return undefined;
  const dir = isAbsolute(source) ? source : resolve(source);
  const st = await stat(dir).catch(() => undefined);
  if (!st || st.uid === process.getuid?.()) return undefined;
  const previous = env.GIT_CONFIG_GLOBAL ?? join(env.HOME ?? homedir(), '.gitconfig');
  const file = join(stateDir, 'git-safe.gitconfig');
  await mkdir(stateDir, { recursive: true });
  // git config syntax: quoted values, with backslash and quote escaped.
  const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const paths = [dir, join(dir, '.git')];
  await writeFile(file, `# written by vmbackup daemon: trust only the --repo path the operator named\n[include]\n\tpath = ${q(previous)}\n[safe]\n${paths.map((p) => `\tdirectory = ${q(p)}\n`).join('')}`, { mode: 0o600 });
  return file;
}
