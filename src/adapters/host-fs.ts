// The few file operations the engine needs on a hypervisor (overlay removal, free space, a backup
// image's type): each a fixed program with argv. Every path must be absolute and normalised
// (core/host-path.ts) and goes after `--` where the program accepts it; callers still check
// that paths lie where they should.
import type { Transport } from './transport/transport.js';
import { parseDf } from './libvirt/parse.js';
import { hostPath, kindOf, type FileKind } from '../core/host-path.js';

export const NOT_REGULAR = 'STORAGE_NOT_REGULAR_FILE' as const;

/** A file vmbackup was about to read on a host is a symlink, FIFO, device or directory, or has the wrong size. */
export class NotRegularFileError extends Error {
  readonly code = NOT_REGULAR;
  constructor(readonly host: string, readonly path: string, readonly why: string) {
    super(`${NOT_REGULAR}: ${host}: ${path} ${why}; not read`);
    this.name = 'NotRegularFileError';
  }
}

export class HostFs {
  constructor(readonly transport: Transport) {}

  async df(path: string): Promise<{ totalBytes: number; availBytes: number; mount: string }> {
    const r = await this.transport.run(['df', '-P', '-B1', '--', hostPath(path)], { timeoutMs: 30_000 });
    const d = parseDf(r.stdout);
    if (!d) throw new Error(`${this.transport.host}: cannot read free space of ${path}`);
    return d;
  }

  /** `test` takes no `--`; with exactly one operand after `-e` it is never read as an option, and it is absolute anyway. */
  async exists(path: string): Promise<boolean> {
    return (await this.transport.run(['test', '-e', hostPath(path)], { timeoutMs: 30_000, allowFailure: true })).exitCode === 0;
  }

  /** Backup images hold guest data: readable by root and the backup group only. */
  async chmod(mode: string, path: string): Promise<void> {
    await this.transport.run(['chmod', mode, '--', hostPath(path)], { timeoutMs: 30_000 });
  }

  async removeFile(path: string): Promise<void> {
    await this.transport.run(['rm', '-f', '--', hostPath(path)], { timeoutMs: 60_000 });
  }

  async mkdirp(path: string): Promise<void> {
    await this.transport.run(['mkdir', '-p', '--', hostPath(path)], { timeoutMs: 30_000 });
  }

  async removeTree(path: string): Promise<void> {
    await this.transport.run(['rm', '-rf', '--one-file-system', '--', hostPath(path)], { timeoutMs: 600_000 });
  }

  /** rename(2) on the host: replaces `dst` in one step (same filesystem). */
  async rename(src: string, dst: string): Promise<void> {
    await this.transport.run(['mv', '-f', '-T', '--', hostPath(src), hostPath(dst)], { timeoutMs: 60_000 });
  }

  async copyFile(src: string, dst: string): Promise<void> {
    await this.transport.run(['cp', '--sparse=always', '--', hostPath(src), hostPath(dst)], { timeoutMs: 24 * 3_600_000 });
  }

  /**
   * Names of the regular files directly in `dir` (symlinks, FIFOs and directories are not listed).
   * `find` reads any argument that begins with `-` as its expression (`--` does not help), so the
   * directory must be absolute; names come back NUL-separated and are matched by the caller.
   */
  async listFiles(dir: string): Promise<string[]> {
    const r = await this.transport.run(['find', '-P', hostPath(dir), '-mindepth', '1', '-maxdepth', '1', '-type', 'f', '-printf', '%f\\0'], { allowFailure: true, timeoutMs: 30_000 });
    return r.stdout.split('\0').filter((n) => n !== '' && !n.includes('/'));
  }

  /**
   * The type and size of `path` as lstat(2) sees it, in one remote command (`stat` without `-L`
   * never follows a symlink, and does not open the file: a FIFO cannot block it). `%f` is the raw
   * mode in hex, the same in every locale (`%F` is translated).
   */
  async fileType(path: string): Promise<{ type: FileKind; size: number } | undefined> {
    const r = await this.transport.run(['stat', '-c', '%f:%s', '--', hostPath(path)], { allowFailure: true, timeoutMs: 30_000 });
    if (r.exitCode !== 0) return undefined;
    const m = /^([0-9a-f]+):(\d+)\n?$/.exec(r.stdout);
    return m ? { type: kindOf(parseInt(m[1]!, 16)), size: Number(m[2]) } : undefined;
  }

  /** Before a program reads a file from backup storage: it must be a regular file (not a symlink) of `size` bytes when given. */
  async assertRegularFile(path: string, size?: number): Promise<void> {
    const t = await this.fileType(path);
    if (!t) throw new NotRegularFileError(this.transport.host, path, 'is missing or cannot be examined');
    if (t.type !== 'regular file') throw new NotRegularFileError(this.transport.host, path, `is a ${t.type}, not a regular file`);
    if (size !== undefined && t.size !== size) throw new NotRegularFileError(this.transport.host, path, `is ${t.size} bytes, the manifest says ${size}`);
  }
}
