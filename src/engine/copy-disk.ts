// Copies one disk into the `.partial` directory by the fastest path that is safe for it. A
// running VM's base image on a local hypervisor is streamed into a qcow2 by vmbackup itself and
// hashed on the way (one read of the source, no read-back). Everything else, and every ssh
// hypervisor (the data must not cross the control host), goes through `qemu-img convert` on the
// hypervisor and is then hashed and fdatasynced where it was written: on the hypervisor itself for
// ssh (`openssl dgst`, ../adapters/transport/remote-hash.ts), in this process for local. Only a
// hypervisor without openssl has its images read back by the control host, with a run warning.
import { join } from 'node:path';
import type { ImageFormat } from '../adapters/libvirt/qemu-img.js';
import { sha256File } from '../adapters/storage/hash.js';
import { remoteSha256 } from '../adapters/transport/remote-hash.js';
import { writeQcow2 } from '../adapters/storage/qcow2-writer.js';
import type { Vm } from '../core/model.js';
import type { EngineContext } from './context.js';
import type { Host } from './hosts.js';
import { watchProgress } from './progress.js';

export interface DiskCopy {
  /** Hypervisor path of the image to copy (the base, while the VM runs on an overlay). */
  source: string;
  format: ImageFormat;
  virtualSize: number;
  encrypted: boolean;
  /** The VM writes to an overlay, so nothing writes `source` while it is read. */
  frozenSource: boolean;
  /** File name in the backup directory, and that directory as the control host and the hypervisor see it. */
  name: string;
  dirCtl: string;
  dirHv: string;
}

export interface CopiedDisk {
  writer: 'stream' | 'qemu-img';
  /** `warning`: the image had to be hashed on the control host although its hypervisor is remote. */
  sha256: Promise<{ sha256: string; bytes: number; warning?: string }>;
}

export async function copyDisk(ctx: EngineContext, host: Host, vm: Vm, d: DiskCopy, label: string): Promise<CopiedDisk> {
  const timeoutMs = ctx.desired.settings.backup.copyTimeoutHours * 3_600_000;
  const ctlPath = join(d.dirCtl, d.name);
  const streamable = ctx.desired.settings.backup.imageWriter === 'auto' && host.transport.kind === 'local' && d.frozenSource
    && !d.encrypted && vm.compression !== 'zstd' && d.virtualSize > 0;
  const extents = streamable ? await host.qemuImg.map(d.source, d.format) : null;
  if (extents) {
    const r = await watchProgress(ctx, label, ctlPath, () => writeQcow2({ source: d.source, extents, virtualSize: d.virtualSize, dest: ctlPath, mode: 0o640, signal: AbortSignal.timeout(timeoutMs) }), d.virtualSize);
    return { writer: 'stream', sha256: Promise.resolve({ sha256: r.sha256, bytes: r.bytes }) };
  }
  await watchProgress(ctx, label, ctlPath, () => host.qemuImg.convert(d.source, d.format, `${d.dirHv}/${d.name}`, { compress: vm.compression === 'zstd', timeoutMs }), d.virtualSize);
  await host.fs.chmod('0640', `${d.dirHv}/${d.name}`);
  // Hashed while the next disk copies: the image was just written, so it is read from the page cache.
  const sha256 = host.transport.kind === 'ssh'
    ? remoteSha256(host.transport, `${d.dirHv}/${d.name}`, { sync: true, timeoutMs }).then((h) => {
      if (h.kind === 'ok') return { sha256: h.sha256, bytes: h.bytes };
      if (h.kind === 'no-tool') {
        const warning = `${host.hv.name} has no openssl: ${d.name} was hashed by reading it back on the control host`;
        return sha256File(ctlPath, undefined, { sync: true }).then((r) => ({ ...r, warning }));
      }
      throw new Error(`${host.hv.name}: ${d.name} was not hashed (${h.kind})`);
    })
    : sha256File(ctlPath, undefined, { sync: true });
  sha256.catch(() => undefined); // awaited by the caller; a copy failing first must not leave it unhandled
  return { writer: 'qemu-img', sha256 };
}
