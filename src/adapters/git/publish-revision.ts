// Hands the applied revision to a `runs_on: hypervisor` host: the git objects of that one commit's
// history go over the hypervisor's transport into <stateDir>/repo there, and its
// refs/vmbackup/applied moves to it. vmbackup on the hypervisor acts only on that ref (see
// app/acting-policy.ts), so a revision the daemon refused can never act there: it is never sent.
import { execa } from 'execa';
import { join } from 'node:path/posix';
import { LocalTransport } from '../transport/local.js';
import type { Transport } from '../transport/transport.js';

export const HV_APPLIED_REF = 'refs/vmbackup/applied';

export interface PublishOutcome {
  /** `sent`: the objects went over and the ref moved; `current`: the host already had it. */
  result: 'sent' | 'current';
  /** Bytes of the git pack sent (0 when current). */
  bytes: number;
}

const SHA = /^[0-9a-f]{40}$/;

/** The revision the host acts on now, or undefined when it has none (or no repo yet). */
export async function publishedRevision(t: Transport, stateDir: string): Promise<string | undefined> {
  const r = await t.run(['git', '-C', join(stateDir, 'repo'), 'rev-parse', '--verify', '--quiet', `${HV_APPLIED_REF}^{commit}`], { allowFailure: true, timeoutMs: 30_000 });
  const out = r.stdout.trim();
  return r.exitCode === 0 && SHA.test(out) ? out : undefined;
}

/**
 * Makes `revision` (a commit in the local `repoDir`) the host's applied revision. Idempotent; the
 * ref moves only after every object arrived (git update-ref refuses a commit it does not have).
 */
export async function publishRevision(repoDir: string, revision: string, t: Transport, stateDir: string): Promise<PublishOutcome> {
  if (!SHA.test(revision)) throw new Error(`not a full commit id: ${JSON.stringify(revision)}`);
  if ((await publishedRevision(t, stateDir)) === revision) return { result: 'current', bytes: 0 };
  const pack = await execa('git', ['-C', repoDir, 'pack-objects', '--revs', '--stdout', '--quiet'], { input: `${revision}\n`, encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
  const repo = join(stateDir, 'repo');
  await t.run(['mkdir', '-p', '--', repo], { timeoutMs: 30_000 });
  await t.run(['git', 'init', '--quiet', '--', repo], { timeoutMs: 30_000 });
  await t.run(['git', '-C', repo, 'index-pack', '--stdin', '--fix-thin'], { input: pack.stdout, timeoutMs: 300_000 });
  await t.run(['git', '-C', repo, 'update-ref', '-m', 'vmbackup: applied revision from the control host', HV_APPLIED_REF, revision], { timeoutMs: 30_000 });
  const now = await publishedRevision(t, stateDir);
  if (now !== revision) throw new Error(`${t.host}: ${HV_APPLIED_REF} is ${now ?? 'missing'} after the update, expected ${revision}`);
  return { result: 'sent', bytes: pack.stdout.byteLength };
}

/** On the hypervisor itself: the revision the control host published into `stateDir`, if any. */
export function localPublishedRevision(stateDir: string): Promise<string | undefined> {
  return publishedRevision(new LocalTransport('local'), stateDir);
}
