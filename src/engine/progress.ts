// Progress of a long copy on a terminal or in the console: polls the size of the file being
// written (works for both transports, since storage is shared) and prints one updating line to
// stderr (ctx.progress) and/or reports the bytes against the disk's size (ctx.onCopy).
import { stat } from 'node:fs/promises';
import type { EngineContext } from './context.js';

export async function watchProgress<T>(ctx: EngineContext, label: string, path: string, work: () => Promise<T>, totalBytes?: number): Promise<T> {
  if (!ctx.progress && !ctx.onCopy) return work();
  const t0 = performance.now();
  const timer = setInterval(() => {
    void stat(path).then((s) => {
      const bytes = s.blocks * 512;
      const mib = bytes / 1048576;
      const secs = (performance.now() - t0) / 1000;
      ctx.progress?.(`${label}: ${mib.toFixed(0)} MiB written, ${(mib / Math.max(secs, 0.001)).toFixed(0)} MiB/s`);
      ctx.onCopy?.(label, bytes, totalBytes);
    }, () => undefined);
  }, 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    ctx.progress?.('');
  }
}
