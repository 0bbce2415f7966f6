// Runs a console pattern (repository input) on console text (guest output) in a worker thread that
// is terminated after a time limit: a pattern that backtracks for ever costs one bounded failure.
import { Worker } from 'node:worker_threads';
import { CONSOLE_FLAGS, CONSOLE_MATCH_TIMEOUT_MS } from '../../core/probe.js';

const CODE = `const { parentPort, workerData } = require('node:worker_threads');
const m = new RegExp(workerData.pattern, workerData.flags).exec(workerData.text);
parentPort.postMessage(m ? { index: m.index, match: m[0].slice(0, 200) } : null);`;

export type MatchOutcome = { matched: true; index: number; match: string } | { matched: false } | { timedOut: true };

export function matchWithTimeout(pattern: string, text: string, timeoutMs = CONSOLE_MATCH_TIMEOUT_MS): Promise<MatchOutcome> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CODE, { eval: true, workerData: { pattern, flags: CONSOLE_FLAGS, text }, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 } });
    let done = false;
    const finish = (f: () => void): void => { if (done) return; done = true; clearTimeout(timer); void w.terminate(); f(); };
    const timer = setTimeout(() => finish(() => resolve({ timedOut: true })), timeoutMs);
    w.once('message', (m: { index: number; match: string } | null) => finish(() => resolve(m ? { matched: true, ...m } : { matched: false })));
    w.once('error', (e) => finish(() => reject(e)));
    w.once('exit', (code) => finish(() => reject(new Error(`console matcher exited ${code}`))));
  });
}
