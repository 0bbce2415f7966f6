// Hypervisor mode's hand-over: before each reconcile, every `runs_on: hypervisor` host gets the
// applied revision (only ever that one: the step runs after the revision decision, with the
// revision in force). A host that cannot be reached keeps its previous revision and is retried
// on the next pass; its bacula-fd jobs then act on that older, once-applied revision.
import type { Logger } from 'pino';
import type { DesiredState } from '../core/model.js';
import { publishRevision } from '../adapters/git/publish-revision.js';
import type { Hosts } from '../engine/hosts.js';

export interface PublishResult { host: string; result: 'sent' | 'current' | 'failed'; error?: string }

/** host → revision known to be there, and when that was checked (re-checked every 10 minutes). */
const published = new Map<string, { revision: string; at: number }>();
const RECHECK_MS = 10 * 60_000;

export async function publishStep(o: { dir: string; revision: string; desired: DesiredState; hosts: Hosts; log: Logger; nowMs: number }): Promise<PublishResult[]> {
  const targets = o.desired.hypervisors.filter((h) => h.runsOn === 'hypervisor');
  return Promise.all(targets.map(async (hv): Promise<PublishResult> => {
    const key = `${hv.name}\0${hv.stateDir}`;
    const known = published.get(key);
    if (known && known.revision === o.revision && o.nowMs - known.at < RECHECK_MS) return { host: hv.name, result: 'current' };
    try {
      const r = await publishRevision(o.dir, o.revision, o.hosts.get(hv.name).transport, hv.stateDir);
      published.set(key, { revision: o.revision, at: o.nowMs });
      if (r.result === 'sent') o.log.info({ hypervisor: hv.name, revision: o.revision, bytes: r.bytes }, 'applied revision published to the hypervisor');
      return { host: hv.name, result: r.result };
    } catch (e) {
      published.delete(key);
      const error = (e as Error).message;
      o.log.warn({ hypervisor: hv.name, revision: o.revision, err: error }, 'could not publish the applied revision to the hypervisor; its jobs keep the revision it has; retried next pass');
      return { host: hv.name, result: 'failed', error };
    }
  }));
}
