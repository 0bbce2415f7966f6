// The few file operations the engine needs on a hypervisor (overlay removal, free space):
// each a fixed program with argv, paths checked by the caller to lie where they should.
import type { Transport } from './transport/transport.js';
import { parseDf } from './libvirt/parse.js';

export class HostFs {
  constructor(readonly transport: Transport) {}

  async df(path: string): Promise<{ totalBytes: number; availBytes: number; mount: string }> {
    const r = await this.transport.run(['df', '-P', '-B1', '--', path], { timeoutMs: 30_000 });
    const d = parseDf(r.stdout);
    if (!d) throw new Error(`${this.transport.host}: cannot read free space of ${path}`);
    return d;
  }

  async exists(path: string): Promise<boolean> {
    return (await this.transport.run(['test', '-e', path], { timeoutMs: 30_000, allowFailure: true })).exitCode === 0;
  }

  /** Backup images hold guest data: readable by root and the backup group only. */
  async chmod(mode: string, path: string): Promise<void> {
    await this.transport.run(['chmod', mode, '--', path], { timeoutMs: 30_000 });
  }

  async removeFile(path: string): Promise<void> {
    await this.transport.run(['rm', '-f', '--', path], { timeoutMs: 60_000 });
  }

  async mkdirp(path: string): Promise<void> {
    await this.transport.run(['mkdir', '-p', '--', path], { timeoutMs: 30_000 });
  }

  async removeTree(path: string): Promise<void> {
    await this.transport.run(['rm', '-rf', '--one-file-system', '--', path], { timeoutMs: 600_000 });
  }

  /** rename(2) on the host: replaces `dst` in one step (same filesystem). */
  async rename(src: string, dst: string): Promise<void> {
    await this.transport.run(['mv', '-f', '-T', '--', src, dst], { timeoutMs: 60_000 });
  }

  async copyFile(src: string, dst: string): Promise<void> {
    await this.transport.run(['cp', '--sparse=always', '--', src, dst], { timeoutMs: 24 * 3_600_000 });
  }
}
