// Writes a standalone qcow2 from a source image's data extents in one sequential pass, hashing
// every byte on its way out: the backup is copied and its SHA-256 known with a single read of the
// source and no read-back. Reads and writes run on libuv's threads while the hash runs here, so
// the copy costs about max(read, hash, write) instead of their sum. The layout is core/qcow2-layout.ts.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { CLUSTER, dataChunks, metadataCluster, planLayout, type DataChunk, type DataExtent } from '../../core/qcow2-layout.js';

const CHUNK = 4 * 1024 * 1024;
const READ_AHEAD = 4; // chunks being read while one is hashed: keeps the source device's queue full
const BUFFERS = READ_AHEAD + 3; // + the one being hashed + two being written
const SUB_READ = 1024 * 1024; // a chunk's reads go out in pieces of this size, concurrently
// Start writeback while copying: with a large page cache the kernel would otherwise hold the
// whole image dirty and the final fdatasync would pay for all of it after the copy.
const FLUSH_EVERY = 64 * 1024 * 1024;

export interface StreamCopyOptions {
  source: string;
  extents: readonly DataExtent[];
  virtualSize: number;
  dest: string;
  mode?: number;
  signal?: AbortSignal;
  onProgress?: (bytesWritten: number, totalBytes: number) => void;
}

export interface StreamCopyResult { sha256: string; bytes: number; dataBytes: number }

export async function writeQcow2(o: StreamCopyOptions): Promise<StreamCopyResult> {
  const layout = planLayout(o.virtualSize, o.extents);
  const src = await open(o.source, 'r');
  let dst: FileHandle | undefined;
  try {
    dst = await open(o.dest, 'wx', o.mode ?? 0o640); // never over an existing file
    const hash = createHash('sha256');
    let written = 0;
    let dataBytes = 0;
    const meta = Buffer.alloc(CLUSTER);
    for (let i = 0; i < layout.metadataClusters; i++) {
      meta.fill(0);
      metadataCluster(layout, i, meta);
      hash.update(meta);
      await writeAll(dst, meta, CLUSTER, i * CLUSTER);
      written += CLUSTER;
    }
    const pool = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafe(CHUNK));
    const writes: Promise<Buffer>[] = [];
    let flushing: Promise<void> | undefined;
    let unflushed = 0;
    const flush = (): void => {
      if (flushing || unflushed < FLUSH_EVERY) return;
      unflushed = 0;
      flushing = dst!.datasync().finally(() => { flushing = undefined; });
      flushing.catch(() => undefined); // the final datasync reports any error
    };
    const take = async (): Promise<Buffer> => pool.pop() ?? (await writes.shift()!);
    const chunks = dataChunks(layout, o.extents, CHUNK);
    const fill = async (c: DataChunk, buf: Buffer): Promise<{ c: DataChunk; buf: Buffer }> => {
      await readChunk(src, c, buf);
      return { c, buf };
    };
    const reading: Promise<{ c: DataChunk; buf: Buffer }>[] = [];
    const readAhead = async (): Promise<void> => {
      while (reading.length < READ_AHEAD) {
        const next = chunks.next();
        if (next.done) return;
        const r = fill(next.value, await take());
        r.catch(() => undefined); // awaited in order below
        reading.push(r);
      }
    };
    try {
      await readAhead();
      while (reading.length) {
        o.signal?.throwIfAborted();
        const { c, buf } = await reading.shift()!;
        await readAhead(); // keep reading while this one is hashed
        const view = buf.subarray(0, c.length);
        hash.update(view);
        writes.push(writeAll(dst, view, c.length, c.fileOffset).then(() => { unflushed += c.length; flush(); return buf; }));
        written += c.length;
        dataBytes += c.reads.reduce((n, r) => n + r.length, 0);
        o.onProgress?.(written, layout.fileSize);
      }
      await Promise.all(writes);
    } catch (e) {
      // Let every read and write in flight settle before the files are closed under them.
      await Promise.allSettled([...reading, ...writes, ...(flushing ? [flushing] : [])]);
      throw e;
    }
    // Durable before it can be published: the rename that publishes a backup must never outlive its data.
    await flushing?.catch(() => undefined);
    await dst.datasync();
    if (written !== layout.fileSize) throw new Error(`wrote ${written} bytes, the layout has ${layout.fileSize}`);
    return { sha256: hash.digest('hex'), bytes: written, dataBytes };
  } finally {
    await dst?.close().catch(() => undefined);
    await src.close();
  }
}

/** Fills `buf[0, c.length)`: the chunk's source reads, zeros everywhere else. */
async function readChunk(src: FileHandle, c: DataChunk, buf: Buffer): Promise<void> {
  let pos = 0;
  const reads: Promise<void>[] = [];
  for (const r of c.reads) {
    if (r.into > pos) buf.fill(0, pos, r.into);
    for (let o = 0; o < r.length; o += SUB_READ) reads.push(readAll(src, buf, r.into + o, Math.min(SUB_READ, r.length - o), r.from + o));
    pos = r.into + r.length;
  }
  if (pos < c.length) buf.fill(0, pos, c.length);
  await Promise.all(reads);
}

async function readAll(fh: FileHandle, buf: Buffer, at: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, at + done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`the source image ends at ${position + done}, before the ${length}-byte extent at ${position} does`);
    done += bytesRead;
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    done += bytesWritten;
  }
}
