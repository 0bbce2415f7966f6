// The alert for a pass whose prunes the mass-prune guard refused: sent once per revision and VM.
import { formatTime, shortRev } from './notify-format.js';
import type { NotifyView, ViewOptions } from './notify-view.js';

export interface PruneRefusedInput {
  /** The revision in force whose retention asked for the prunes. */
  revision: string;
  /** The VM, or `(fleet)` when the whole pass was refused. */
  vm: string;
  /** The guard's reason (how many of how many points, the limit). */
  message: string;
}

export function pruneRefusedView(a: PruneRefusedInput, o: ViewOptions): NotifyView {
  const time = o.now.toISOString();
  const timeText = formatTime(time, o.timeZone);
  const rev = shortRev(a.revision);
  const who = a.vm === '(fleet)' ? 'the fleet' : a.vm;
  return {
    kind: 'prune-refused', severity: 'warning', time, timeText, revision: a.revision,
    ...(a.vm === '(fleet)' ? {} : { vm: a.vm }),
    title: `Prunes of ${who} refused by the mass-prune guard`,
    summary: `Revision ${rev}: nothing of ${who} was pruned: ${a.message}`,
    fields: [
      { label: 'VM', value: a.vm },
      { label: 'Revision', value: rev },
      { label: 'Time', value: timeText },
    ],
    sections: [{ title: 'Reason', lines: [a.message] }],
    details: a.message,
    data: { vm: a.vm, reason: a.message },
  };
}
