// Runs the digest on settings.notifications.slack.digest_schedule (croner, in settings.time_zone;
// default Sunday 18:00, seed 002's "Slack summary: Sunday evening"). Overlapping runs are skipped.
import { Cron } from 'croner';
import type { Logger } from 'pino';

export const DEFAULT_DIGEST_SCHEDULE = '0 18 * * 0';

export interface DigestSchedule {
  stop(): void;
  /** The next time the digest will run, or undefined if the pattern never fires again. */
  next(): Date | undefined;
}

/** When a digest on `schedule` runs next after `from` (for `status`, and tests). Throws on a bad pattern. */
export function nextDigest(schedule: string, timeZone: string | undefined, from: Date): Date | undefined {
  const c = new Cron(schedule, { paused: true, ...(timeZone ? { timezone: timeZone } : {}) });
  const n = c.nextRun(from) ?? undefined;
  c.stop();
  return n;
}

/**
 * Calls `run` on every tick; an error is logged, never thrown. The timer is unref'd: the daemon's
 * own loop keeps the process alive.
 */
export function scheduleDigest(o: { schedule?: string; timeZone?: string; log: Logger; run: () => Promise<void> }): DigestSchedule {
  const pattern = o.schedule ?? DEFAULT_DIGEST_SCHEDULE;
  const job = new Cron(pattern, {
    name: 'vmbackup-digest',
    protect: () => o.log.warn({ schedule: pattern }, 'previous digest still running; tick skipped'),
    unref: true,
    ...(o.timeZone ? { timezone: o.timeZone } : {}),
  }, async () => {
    try {
      await o.run();
    } catch (e) {
      o.log.error({ err: (e as Error).message }, 'digest failed');
    }
  });
  o.log.info({ schedule: pattern, timeZone: o.timeZone, next: job.nextRun()?.toISOString() }, 'digest scheduled');
  return { stop: () => job.stop(), next: () => job.nextRun() ?? undefined };
}
