// Cadences as written in the repo ("30d", "quarterly"), as whole days for verify/test-restore.
import { parseDuration } from './retention-duration.js';

const CADENCE_DAYS: Record<string, number> = { weekly: 7, monthly: 30, quarterly: 91, yearly: 365, never: 0 };
const DAY_MS = 86_400_000;

/** Days between runs for a cadence word or duration; 0 means never; undefined if malformed. */
export function cadenceDays(s: string): number | undefined {
  if (s in CADENCE_DAYS) return CADENCE_DAYS[s];
  const d = parseDuration(s);
  return 'ms' in d ? d.ms / DAY_MS : undefined;
}
