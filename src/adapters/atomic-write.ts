// Writes a file so readers see either the old or the new content, never half of either: a temp
// file beside it with an unpredictable name, created exclusively ('wx': never an existing file or
// a planted symlink), given its final mode (and owner) before any reader can see it, fsynced,
// renamed over, then the directory fsynced so the rename survives a crash.
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface FileOwner { uid: number; gid: number }

export async function writeFileAtomic(path: string, content: string | Buffer, mode = 0o644, owner?: FileOwner): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(12).toString('hex')}.tmp`);
  // Created 0600 (under any umask): no wider than the final mode while the content is written.
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      if (owner) await fh.chown(owner.uid, owner.gid);
      await fh.writeFile(content);
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r').catch(() => undefined);
  if (!d) return;
  try { await d.sync(); } catch { /* some filesystems refuse fsync on a directory */ } finally { await d.close(); }
}
