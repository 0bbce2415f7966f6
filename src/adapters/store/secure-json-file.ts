// state.json on disk: read as JSON; written through an unpredictable temp file in the same
// directory (random name, O_EXCL, mode 0600, or 0660 in a group-shared state dir such as the
// unit's 2770 one, where Bacula's RunScripts write as another user of the group), fsynced,
// renamed over, then the directory fsynced, so a crash leaves the old or the new file and no
// other local user can pre-create or read it.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';

export async function writeFileDurable(path: string, content: string, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(16).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(content, 'utf8');
    await fh.chmod(mode); // whatever the umask
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try { await rename(tmp, path); } catch (e) { await rm(tmp, { force: true }); throw e; }
  const d = await open(dir, 'r');
  try { await d.sync(); } finally { await d.close(); }
}

/** A lowdb adapter: `scrub` sees the serialized JSON last, so no filled secret is ever written. */
export class SecureJsonFile<T> implements Adapter<T> {
  constructor(private readonly path: string, private readonly scrub: (s: string) => string = (s) => s) {}

  async read(): Promise<T | null> {
    let text: string;
    try { text = await readFile(this.path, 'utf8'); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return JSON.parse(text) as T;
  }

  async write(data: T): Promise<void> {
    const dirMode = (await stat(dirname(this.path))).mode;
    // Group-shared only when the directory itself gives its group write and others nothing.
    const shared = (dirMode & 0o070) === 0o070 && (dirMode & 0o007) === 0;
    await writeFileDurable(this.path, this.scrub(JSON.stringify(data, null, 2)), shared ? 0o660 : 0o600);
  }
}
