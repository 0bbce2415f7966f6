// Reading files from backup storage, which anyone with write access to the share may have
// tampered with: never follow a symlink (O_NOFOLLOW), never block on a FIFO or device
// (O_NONBLOCK, then fstat must say regular file), and never read more than expected + 1 byte,
// so /dev/zero, a FIFO or a huge file cannot hang or exhaust `verify`, listing or restore.
import { constants } from 'node:fs';
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { kindOf } from '../../core/host-path.js';

export const STORAGE_UNTRUSTED = 'STORAGE_UNTRUSTED_FILE' as const;

/** A file in backup storage is not something vmbackup reads: a symlink, FIFO, device, directory, or too large. */
export class UntrustedFileError extends Error {
  readonly code = STORAGE_UNTRUSTED;
  constructor(readonly path: string, readonly why: string) {
    super(`${path} ${why}; not read`);
    this.name = 'UntrustedFileError';
  }
}

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0);
const CHUNK = 8 * 1024 * 1024;

/** Opens `path` for reading if it is a regular file and not a symlink; the caller closes it. */
export async function openRegular(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') throw new UntrustedFileError(path, 'is a symbolic link');
    if (code === 'ENXIO') throw new UntrustedFileError(path, 'is a socket or a FIFO without a writer');
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UntrustedFileError(path, `is a ${kindOf(st.mode)}, not a regular file`);
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** A small file (manifest, checksums, domain XML) as text; more than `maxBytes` is refused. */
export async function readRegularText(path: string, maxBytes = 16 * 1024 * 1024): Promise<string> {
  const { fh } = await openRegular(path);
  try {
    const buf = Buffer.allocUnsafe(maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes) throw new UntrustedFileError(path, `is larger than ${maxBytes} bytes`);
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * SHA-256 of a regular file expected to hold `expectedBytes`: reads at most expectedBytes + 1
 * bytes, so a file that grew (or never ends) is reported by its size, not read to its end.
 */
export async function sha256Regular(path: string, expectedBytes: number, onProgress?: (bytes: number) => void): Promise<{ sha256: string; bytes: number; truncatedRead: boolean }> {
  const { fh } = await openRegular(path);
  const limit = Math.max(0, expectedBytes) + 1;
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, limit));
  let total = 0;
  try {
    while (total < limit) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, limit - total), null);
      if (bytesRead === 0) break;
      h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
      onProgress?.(total);
    }
  } finally {
    await fh.close();
  }
  return { sha256: h.digest('hex'), bytes: total, truncatedRead: total >= limit };
}

/** The first `n` bytes (fewer if the file is shorter) of a regular file: e.g. a qcow2 header. */
export async function readHead(path: string, n: number): Promise<Buffer> {
  const { fh } = await openRegular(path);
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
