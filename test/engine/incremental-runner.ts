// Child process for test/engine/incremental.test.ts: runs the engine's backup or cleanup of one VM
// with `incremental.fullEvery` set on it (so the test does not depend on the policy parser), and
// prints the result as JSON. A separate process so a test can SIGKILL it mid-backup.
import { setupEngine } from '../../src/app/engine-setup.js';
import { backupVm } from '../../src/engine/backup.js';
import { cleanupVm } from '../../src/engine/cleanup.js';
import { findVm } from '../../src/engine/context.js';

const [cmd, repo, stateDir, vmName, fullEvery] = process.argv.slice(2);
const ctx = await setupEngine({ repo: repo!, stateDir: stateDir! });
try {
  const vm = { ...findVm(ctx.desired, vmName!), incremental: { fullEvery: Number(fullEvery ?? '1') } };
  const out = cmd === 'cleanup' ? await cleanupVm(ctx, vm) : await backupVm(ctx, vm);
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  await ctx.hosts.closeAll();
}
