// Putting an in-place restore back: whatever step failed, the VM ends with its previous files
// (renamed back from `.vmbackup-prev-<id>`) and its previous definition (defined again from the
// XML saved before anything was touched). A restore as a new VM just removes what it added.
import { rm } from 'node:fs/promises';
import { CommandError } from '../adapters/transport/transport.js';
import type { Host } from './hosts.js';
import type { RestoreFiles } from './restore-files.js';

/** Undo a failed restore into `name`, then throw the original error (with what could not be undone). */
export async function putBack(host: Host, name: string, files: RestoreFiles, saved: string | undefined, out: { defined: boolean }, cause: unknown, savedFile?: string): Promise<never> {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try { await fn(); } catch (e) { problems.push(`${what}: ${e instanceof CommandError ? e.message.split('\n')[0] : (e as Error).message}`); }
  };
  const state = (await host.virsh.list().catch(() => new Map<string, string>())).get(name);
  if (out.defined && state !== undefined) {
    // The new definition (never the previous one: that VM was shut off and is only redefined below).
    if (state !== 'shut off') await attempt(`destroy ${name}`, () => host.virsh.destroy(name));
    await attempt(`undefine the new ${name}`, () => host.virsh.undefine(name, { nvram: 'keep', tpm: 'keep' }));
    out.defined = false;
  }
  problems.push(...await files.rollback());
  // A failure before the undefine left the previous definition in place; after it, define it again.
  if (saved !== undefined && (await host.virsh.list().catch(() => new Map<string, string>())).get(name) === undefined) {
    await attempt(`define ${name} again from its saved XML`, () => host.virsh.define(saved));
  }
  if (savedFile && !problems.length) await rm(savedFile, { force: true });
  else if (savedFile) problems.push(`its previous definition is saved in ${savedFile}`);
  const msg = (cause as Error).message;
  const outcome = saved === undefined ? 'what it had added was removed' : problems.length ? 'putting the VM back was incomplete' : `${name} was left as it was (its files moved back, its definition restored)`;
  throw new Error(`${msg}; ${outcome}${problems.length ? `: ${problems.join('; ')}` : ''}`);
}
