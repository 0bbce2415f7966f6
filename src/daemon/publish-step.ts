// Hypervisor mode's hand-over: before each reconcile, every `runs_on: hypervisor` host gets the
// applied revision (only ever that one: the step runs after the revision decision, with the
// revision in force) and the pauses in force for its VMs (<state_dir>/pauses.json, `{}` when none).
// A host that cannot be reached keeps its previous revision and pauses and is retried on the next
// pass; its bacula-fd jobs then act on those older ones.
import type { Logger } from 'pino';
import type { DesiredState } from '../core/model.js';
import { pausesFor, publishedPausesText } from '../core/pause/published.js';
import { publishRevision } from '../adapters/git/publish-revision.js';
import { publishPauses } from '../adapters/agent/publish-pauses.js';
import { readPauses } from '../adapters/store/pauses.js';
import type { StateStore } from '../adapters/store/state-store.js';
import type { Hosts } from '../engine/hosts.js';

export interface PublishResult { host: string; result: 'sent' | 'current' | 'failed'; error?: string }

/** host → revision and pauses known to be there, and when that was checked (re-checked every 10 minutes). */
const published = new Map<string, { revision: string; pauses: string; at: number }>();
const RECHECK_MS = 10 * 60_000;

export async function publishStep(o: { dir: string; revision: string; desired: DesiredState; hosts: Hosts; log: Logger; nowMs: number; store: StateStore }): Promise<PublishResult[]> {
  const targets = o.desired.hypervisors.filter((h) => h.runsOn === 'hypervisor');
  if (!targets.length) return [];
  const all = await readPauses(o.store);
  const now = new Date(o.nowMs).toISOString();
  return Promise.all(targets.map(async (hv): Promise<PublishResult> => {
    const key = `${hv.name}\0${hv.stateDir}`;
    const pauses = pausesFor(all, o.desired.vms.filter((v) => v.hypervisor === hv.name).map((v) => v.name), now);
    const text = publishedPausesText(pauses);
    const known = published.get(key);
    // A pause or resume made since the last publish (or one that expired) goes now, even with the same revision.
    if (known && known.revision === o.revision && known.pauses === text && o.nowMs - known.at < RECHECK_MS) return { host: hv.name, result: 'current' };
    try {
      const t = o.hosts.get(hv.name).transport;
      const r = await publishRevision(o.dir, o.revision, t, hv.stateDir);
      if (r.result === 'sent') o.log.info({ hypervisor: hv.name, revision: o.revision, bytes: r.bytes }, 'applied revision published to the hypervisor');
      const pausesChanged = known?.pauses !== text;
      await publishPauses(t, hv.stateDir, pauses);
      published.set(key, { revision: o.revision, pauses: text, at: o.nowMs });
      if (pausesChanged) o.log.info({ hypervisor: hv.name, paused: Object.keys(pauses) }, 'pauses in force published to the hypervisor');
      return { host: hv.name, result: r.result === 'sent' || pausesChanged ? 'sent' : 'current' };
    } catch (e) {
      published.delete(key);
      const error = (e as Error).message;
      o.log.warn({ hypervisor: hv.name, revision: o.revision, err: error }, 'could not publish the applied revision and pauses to the hypervisor; its jobs keep the ones it has; retried next pass');
      return { host: hv.name, result: 'failed', error };
    }
  }));
}
