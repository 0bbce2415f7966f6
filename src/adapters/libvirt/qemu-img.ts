// qemu-img on a hypervisor. Every call names the format (-f, and -F for a backing file): letting
// qemu probe a guest-writable image's format is how a guest reads host files. Image paths are
// absolute and normalised (core/host-path.ts) and come after `--`: a path is never an option.
import type { Transport } from '../transport/transport.js';
import type { DataExtent } from '../../core/qcow2-layout.js';
import { hostPath } from '../../core/host-path.js';
import { parseQemuImgInfo, parseQemuImgMap, type QemuImageInfo } from './parse.js';

export const IMAGE_FORMATS = ['qcow2', 'raw'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export function assertFormat(f: string | undefined): ImageFormat {
  if (f === 'qcow2' || f === 'raw') return f;
  throw new Error(`unsupported disk format ${JSON.stringify(f)}: only qcow2 and raw images are backed up`);
}

export class QemuImg {
  constructor(readonly transport: Transport) {}

  /** Image info; `-U` because the image may be in use by the running VM (info only reads headers). */
  async info(path: string, format: ImageFormat, backingChain = false): Promise<QemuImageInfo[]> {
    const r = await this.transport.run(['qemu-img', 'info', '-U', '-f', format, '--output=json', ...(backingChain ? ['--backing-chain'] : []), '--', hostPath(path)], { timeoutMs: 60_000 });
    return parseQemuImgInfo(r.stdout);
  }

  /**
   * `qemu-img info --backing-chain` as untrusted JSON (core/chain/backing-rule.ts judges it). Only
   * call it once the headers of every image in the chain were checked: qemu opens what they name.
   */
  async infoChainJson(path: string): Promise<unknown> {
    const r = await this.transport.run(['qemu-img', 'info', '-U', '-f', 'qcow2', '--output=json', '--backing-chain', '--', hostPath(path)], { timeoutMs: 60_000 });
    return JSON.parse(r.stdout) as unknown;
  }

  /** Where the image's data lives (`qemu-img map`), or null when it cannot be copied plainly. */
  async map(path: string, format: ImageFormat): Promise<DataExtent[] | null> {
    const r = await this.transport.run(['qemu-img', 'map', '-f', format, '--output=json', '--', hostPath(path)], { timeoutMs: 300_000 });
    return parseQemuImgMap(r.stdout);
  }

  /** Bytes the converted qcow2 will take (`qemu-img measure`): right even for compressed sources. */
  async measure(path: string, format: ImageFormat): Promise<number> {
    const r = await this.transport.run(['qemu-img', 'measure', '-U', '-f', format, '-O', 'qcow2', '--output=json', '--', hostPath(path)], { timeoutMs: 120_000 });
    return Number((JSON.parse(r.stdout) as { required?: number }).required ?? 0);
  }

  /**
   * Copy one disk image to a standalone qcow2: sparse-aware (zero clusters are not written),
   * optionally zstd-compressed. `-n` is not used: the target must not exist yet.
   */
  async convert(src: string, srcFormat: ImageFormat, dst: string, opts: { compress: boolean; timeoutMs: number }): Promise<void> {
    await this.transport.run([
      'qemu-img', 'convert', '-f', srcFormat, '-O', 'qcow2',
      ...(opts.compress ? ['-c', '-o', 'compression_type=zstd'] : []),
      // -W: out-of-order writes (the target is a fresh file nobody reads until we publish it).
      '-m', '8', '-W', '--', hostPath(src), hostPath(dst),
    ], { timeoutMs: opts.timeoutMs });
  }

  /** Structural check of a written image (leaks are tolerated, corruption is not). */
  async check(path: string, format: ImageFormat): Promise<{ ok: boolean; detail: string }> {
    const r = await this.transport.run(['qemu-img', 'check', '-f', format, '--', hostPath(path)], { timeoutMs: 600_000, allowFailure: true });
    // 0 = clean, 3 = leaked clusters only; 1/2 = errors or corruption.
    return { ok: r.exitCode === 0 || r.exitCode === 3, detail: (r.stdout + r.stderr).trim() };
  }
}
