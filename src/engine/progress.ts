// Progress of a long copy on a terminal: polls the size of the file being written (works for
// both transports, since storage is shared) and prints one updating line to stderr.
import { stat } from 'node:fs/promises';
import type { EngineContext } from './context.js';

export async function watchProgress<T>(ctx: EngineContext, label: string, path: string, work: () => Promise<T>): Promise<T> {
  if (!ctx.progress) return work();
  const t0 = performance.now();
  const timer = setInterval(() => {
    void stat(path).then((s) => {
      const mib = s.blocks * 512 / 1048576;
      const secs = (performance.now() - t0) / 1000;
      ctx.progress!(`${label}: ${mib.toFixed(0)} MiB written, ${(mib / Math.max(secs, 0.001)).toFixed(0)} MiB/s`);
    }, () => undefined);
  }, 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    ctx.progress('');
  }
}
