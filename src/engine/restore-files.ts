// The files a restore puts on its target host (disk images, NVRAM, vTPM state) as one
// transaction: each is first copied beside its final path; then swapped in by rename, a file that
// was there moved aside to `<file>.vmbackup-prev-<id>` (same directory, so nothing is copied);
// rollback puts every previous file back; commit deletes them, only once the new VM is in place.
import { posix } from 'node:path';
import { asidePath } from '../core/backup-layout.js';
import { hostPath } from '../core/host-path.js';
import type { Host } from './hosts.js';

/** A restored disk stands alone: a backing or data file (into the backup storage or anywhere) is refused. */
export async function assertStandalone(host: Host, path: string): Promise<void> {
  const [img] = await host.qemuImg.info(path, 'qcow2');
  if (img?.backingFilename) throw new Error(`the restored ${path} has a backing file ${img.backingFilename}; refusing it`);
  if (img?.dataFile) throw new Error(`the restored ${path} has an external data file ${img.dataFile}; refusing it`);
}

export type RestoredKind = 'disk' | 'nvram' | 'tpm';

interface Item {
  kind: RestoredKind;
  /** The backup's file as the target host sees the storage. */
  from: string;
  final: string;
  tmp: string;
  prev: string;
  copied: boolean;
  movedAside: boolean;
  swapped: boolean;
}

export class RestoreFiles {
  private readonly items: Item[] = [];
  /** Directories this restore created (a new VM's swtpm dir), removed again on rollback when empty. */
  private readonly madeDirs: string[] = [];

  constructor(private readonly host: Host, private readonly id: string, private readonly timeoutMs: number) {}

  add(kind: RestoredKind, from: string, final: string): void {
    hostPath(from);
    hostPath(final);
    this.items.push({ kind, from, final, tmp: `${final}.vmbackup-restore-${this.id}.tmp`, prev: asidePath(final, this.id), copied: false, movedAside: false, swapped: false });
  }

  get finals(): { kind: RestoredKind; path: string }[] {
    return this.items.map((i) => ({ kind: i.kind, path: i.final }));
  }

  /** Copies every file beside its final path; nothing in use is touched. On failure the copies are removed. */
  async copyAll(): Promise<void> {
    // A moved-aside file from an earlier restore that was killed may be the only copy of that VM's data.
    for (const i of this.items) {
      if (await this.host.fs.exists(i.prev)) throw new Error(`${i.prev} exists (left by an interrupted restore?): it may hold the VM's previous ${i.kind === 'disk' ? 'disk' : i.kind === 'nvram' ? 'NVRAM' : 'TPM state'}; look at it and remove it first`);
    }
    try {
      for (const i of this.items) {
        await this.host.fs.removeFile(i.tmp);
        await this.host.fs.assertRegularFile(i.from); // storage is untrusted: no symlink, FIFO or device is read (one stat, follows nothing)
        if (i.kind === 'disk') {
          // From an incremental point, convert follows the (verified) chain: the copy is the whole disk.
          await this.host.qemuImg.convert(i.from, 'qcow2', i.tmp, { compress: false, timeoutMs: this.timeoutMs });
          await assertStandalone(this.host, i.tmp);
        } else {
          const dir = posix.dirname(i.final);
          if (!(await this.host.fs.exists(dir))) { await this.mkdirs(dir); }
          await this.host.fs.copyFile(i.from, i.tmp);
          await this.host.fs.chmod('0600', i.tmp); // as libvirt makes them: the VM's secrets
        }
        i.copied = true;
      }
    } catch (e) {
      await this.rollback(); // nothing was swapped yet: removes the copies and any directory made for them
      throw e;
    }
  }

  /** Swap every copy in: what was at the final path goes aside (rename), the copy takes its place (rename). */
  async swapIn(): Promise<void> {
    for (const i of this.items) {
      if (await this.host.fs.exists(i.final)) {
        await this.host.fs.rename(i.final, i.prev);
        i.movedAside = true;
      }
      await this.host.fs.rename(i.tmp, i.final);
      i.swapped = true;
    }
  }

  /** Undo swapIn (and copyAll): the previous files are back at their paths, byte for byte (they were only renamed). */
  async rollback(): Promise<string[]> {
    const problems: string[] = [];
    for (const i of [...this.items].reverse()) {
      try {
        if (i.movedAside) { await this.host.fs.rename(i.prev, i.final); i.movedAside = false; }
        else if (i.swapped) await this.host.fs.removeFile(i.final);
        i.swapped = false;
      } catch (e) {
        problems.push(`${i.final}: could not be put back from ${i.prev}: ${(e as Error).message}`);
      }
    }
    await this.discardCopies();
    for (const d of [...this.madeDirs].reverse()) {
      await this.host.transport.run(['rmdir', '--', d], { allowFailure: true, timeoutMs: 30_000 });
    }
    return problems;
  }

  /** The new VM is in place: delete what was moved aside. Returns what could not be deleted (warnings). */
  async commit(): Promise<string[]> {
    const left: string[] = [];
    for (const i of this.items.filter((x) => x.movedAside)) {
      await this.host.fs.removeFile(i.prev).catch((e: Error) => left.push(`${i.prev} (the replaced file) could not be removed: ${e.message}`));
    }
    return left;
  }

  private async discardCopies(): Promise<void> {
    for (const i of this.items) if (!i.swapped) await this.host.fs.removeFile(i.tmp).catch(() => undefined);
  }

  /** mkdir -p, remembering each level created (to remove it again on rollback). */
  private async mkdirs(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dir; d !== '/' && !(await this.host.fs.exists(d)); d = posix.dirname(d)) missing.unshift(d);
    for (const d of missing) {
      await this.host.transport.run(['mkdir', '-m', '0711', '--', d], { timeoutMs: 30_000 });
      this.madeDirs.push(d);
    }
  }
}
