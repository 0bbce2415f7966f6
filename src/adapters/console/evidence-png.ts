// Reads the test-restore console screenshot for the console, from backup storage that anyone with
// write access to the share may have tampered with: only a path under the VM's own directory, no
// symlink anywhere below it (directories lstat'ed, the file opened O_NOFOLLOW), a regular file of
// at most 8 MiB that starts with the PNG signature.
import { lstat } from 'node:fs/promises';
import { isAbsolute, normalize, relative, sep, join } from 'node:path';
import { openRegular } from '../storage/read-untrusted.js';

export const SCREENSHOT_MAX_BYTES = 8 * 1024 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The PNG at `path` if it lies under `vmDir` and passes every check; else why not. */
export async function readEvidencePng(vmDir: string, path: string, maxBytes = SCREENSHOT_MAX_BYTES): Promise<{ png: Buffer } | { refused: string }> {
  if (!isAbsolute(path) || normalize(path) !== path) return { refused: 'the recorded path is not a plain absolute path' };
  const rel = relative(vmDir, path);
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) return { refused: 'the recorded path is not under the VM\'s directory on backup storage' };
  if (!path.endsWith('.png')) return { refused: 'the recorded path is not a .png file' };
  // The VM's directory and every directory below it on the way: real directories, no symlink.
  let dir = vmDir;
  for (const part of ['', ...rel.split(sep).slice(0, -1)]) {
    dir = part ? join(dir, part) : dir;
    const st = await lstat(dir).catch(() => undefined);
    if (!st || st.isSymbolicLink() || !st.isDirectory()) return { refused: `${dir} is not a plain directory` };
  }
  let opened;
  try { opened = await openRegular(path); } catch (e) { return { refused: (e as Error).message }; }
  const { fh, size } = opened;
  try {
    if (size > maxBytes) return { refused: `${path} is larger than ${maxBytes} bytes` };
    const buf = Buffer.alloc(size);
    let n = 0;
    while (n < size) {
      const { bytesRead } = await fh.read(buf, n, size - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    const png = buf.subarray(0, n);
    if (n < PNG_SIGNATURE.length || !png.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) return { refused: `${path} is not a PNG` };
    return { png };
  } finally {
    await fh.close();
  }
}
