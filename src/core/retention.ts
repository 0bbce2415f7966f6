// The retention engine: which restore points to keep or prune, restic `forget` / PBS prune style,
// wrapped in safety rules that never let a failed or unverified backup cost us a good one.
// Pure: no clock reads (everything is relative to the points themselves), no I/O, no randomness.
// It never throws: anything it cannot interpret (bad time, bad rule, bad zone) holds pruning.

import type { Retention, RestorePoint, RetentionDecision } from './model.js';
import { bucketKey, isValidTimeZone, type BucketUnit } from './retention-buckets.js';
import { chainProblems, keepBases } from './retention-chain.js';
import { parseDuration, parseTime } from './retention-duration.js';

export { parseDuration } from './retention-duration.js';

export interface RetentionOptions {
  /** ISO time of the decision. Accepted for the record; keep_within is measured from the newest good point, as restic does. */
  now: string;
  /** IANA zone for hour/day/week/month/year buckets; default 'UTC'. */
  timeZone?: string;
}

type CountKey = 'keepLast' | 'keepHourly' | 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'keepYearly';

const BUCKET_RULES: readonly { key: CountKey; name: string; unit: BucketUnit }[] = [
  { key: 'keepHourly', name: 'keep_hourly', unit: 'hour' },
  { key: 'keepDaily', name: 'keep_daily', unit: 'day' },
  { key: 'keepWeekly', name: 'keep_weekly', unit: 'week' },
  { key: 'keepMonthly', name: 'keep_monthly', unit: 'month' },
  { key: 'keepYearly', name: 'keep_yearly', unit: 'year' },
];
const COUNT_KEYS: readonly CountKey[] = ['keepLast', ...BUCKET_RULES.map((r) => r.key)];

const REASON = {
  newestGood: 'newest verified-good point',
  newerThanGood: 'newer than newest verified-good point',
  noGood: 'no verified-good point: pruning held',
  newestNotGood: 'newest backup not good: pruning held',
  noRule: 'no keep rule matched',
  failed: 'superseded failed backup',
  verifyFailed: 'failed verification',
  unverified: 'superseded unverified backup',
  chainBad: 'chain not good',
} as const;

interface Entry {
  point: RestorePoint;
  index: number;
  ms: number;
}

/** Only a backup that succeeded and passed checksum verification counts toward any quota. */
export function isGood(p: RestorePoint): boolean {
  return p.status === 'ok' && p.verify === 'ok';
}

/** False when no rule would ever keep a point (all absent, zero or invalid); validation warns on it. */
export function retentionKeepsSomething(rules: Retention): boolean {
  if (COUNT_KEYS.some((k) => validCount(rules[k]) && (rules[k] ?? 0) > 0)) return true;
  if (rules.keepWithin === undefined) return false;
  const d = parseDuration(rules.keepWithin);
  return 'ms' in d && d.ms > 0;
}

export function decideRetention(
  points: readonly RestorePoint[],
  rules: Retention,
  opts: RetentionOptions,
): RetentionDecision[] {
  const timeZone = opts.timeZone ?? 'UTC';
  const problem = inputProblem(points, rules, timeZone);
  if (problem !== undefined) return points.map((p) => decision(p, 'keep', [`${problem}: pruning held`]));

  const sorted = points.map((point, index): Entry => ({ point, index, ms: parseTime(point.time) ?? 0 })).sort(newestFirst);
  // An incremental counts only when every point it depends on is good too.
  const chainBad = chainProblems(points);
  const good = sorted.filter((e) => isGood(e.point) && !chainBad.has(e.point.id));
  const newestGood = good[0];
  if (newestGood === undefined) return points.map((p) => decision(p, 'keep', [REASON.noGood]));

  const quota = quotaReasons(good, rules, timeZone);
  const hold = sorted[0] !== newestGood; // the newest point overall is not good
  const out: RetentionDecision[] = new Array<RetentionDecision>(points.length);
  let beforeNewestGood = true;
  for (const e of sorted) {
    if (e === newestGood) beforeNewestGood = false;
    let keep: string[];
    let prune: string | undefined;
    if (e === newestGood) keep = [REASON.newestGood, ...(quota.get(e) ?? [])];
    else if (isGood(e.point) && !chainBad.has(e.point.id)) {
      keep = quota.get(e) ?? [];
      if (keep.length === 0) prune = REASON.noRule;
    } else if (beforeNewestGood) keep = [REASON.newerThanGood];
    else {
      keep = [];
      const why = chainBad.get(e.point.id);
      prune = isGood(e.point) && why !== undefined ? `${REASON.chainBad}: ${why}` : pruneReasonForBad(e.point);
    }
    if (hold) out[e.index] = decision(e.point, 'keep', [REASON.newestNotGood, ...keep]);
    else out[e.index] = prune === undefined ? decision(e.point, 'keep', keep) : decision(e.point, 'prune', [prune]);
  }
  if (!hold) keepBases(points, out, sorted.map((e) => e.index));
  return out;
}

function decision(p: RestorePoint, action: 'keep' | 'prune', reasons: string[]): RetentionDecision {
  return { id: p.id, action, reasons };
}

function validCount(n: number | undefined): boolean {
  return n === undefined || (Number.isSafeInteger(n) && n >= 0);
}

/** Why the input cannot be trusted, if it cannot; then we hold pruning rather than guess. */
function inputProblem(points: readonly RestorePoint[], rules: Retention, timeZone: string): string | undefined {
  for (const k of COUNT_KEYS) {
    if (!validCount(rules[k])) return `invalid ${snake(k)} ${JSON.stringify(rules[k])}`;
  }
  if (rules.keepWithin !== undefined && 'error' in parseDuration(rules.keepWithin)) {
    return `invalid keep_within ${JSON.stringify(rules.keepWithin)}`;
  }
  if (!isValidTimeZone(timeZone)) return `invalid time zone ${JSON.stringify(timeZone)}`;
  const bad = points.find((p) => parseTime(p.time) === undefined);
  if (bad !== undefined) return `unparseable time ${JSON.stringify(bad.time)} on ${bad.id}`;
  return undefined;
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function pruneReasonForBad(p: RestorePoint): string {
  if (p.status !== 'ok') return REASON.failed;
  return p.verify === 'failed' ? REASON.verifyFailed : REASON.unverified;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Newest first, then id descending; the remaining fields make the order total, so input order never matters. */
function newestFirst(a: Entry, b: Entry): number {
  return (
    b.ms - a.ms ||
    cmp(b.point.id, a.point.id) ||
    cmp(b.point.time, a.point.time) ||
    cmp(b.point.status, a.point.status) ||
    cmp(b.point.verify, a.point.verify)
  );
}

/** Every keep_* reason of each good point (good is sorted newest first), in a fixed rule order. */
function quotaReasons(good: readonly Entry[], rules: Retention, timeZone: string): Map<Entry, string[]> {
  const reasons = new Map<Entry, string[]>();
  const add = (e: Entry, r: string): void => {
    const list = reasons.get(e);
    if (list === undefined) reasons.set(e, [r]);
    else list.push(r);
  };

  const last = rules.keepLast ?? 0;
  good.slice(0, last).forEach((e, i) => add(e, `keep_last ${i + 1}/${last}`));

  for (const rule of BUCKET_RULES) {
    let left = rules[rule.key] ?? 0;
    let lastBucket: string | undefined;
    for (const e of good) {
      if (left <= 0) break;
      const bucket = bucketKey(e.ms, rule.unit, timeZone);
      if (bucket === lastBucket) continue;
      add(e, `${rule.name} ${bucket}`);
      lastBucket = bucket;
      left--;
    }
    // restic ≥ 0.17: a period rule whose count is not used up also keeps the oldest good point,
    // so a young history is kept whole rather than cut at the first period it reaches.
    const oldest = good.at(-1);
    if (left > 0 && oldest !== undefined && !(reasons.get(oldest) ?? []).some((r) => r.startsWith(`${rule.name} `))) add(oldest, `${rule.name} oldest (${rules[rule.key]} not reached)`);
  }

  if (rules.keepWithin !== undefined) {
    const d = parseDuration(rules.keepWithin);
    const newest = good[0];
    if ('ms' in d && newest !== undefined) {
      // Strictly within, like restic (`cur.Time.After(latest - within)`): `0d` keeps nothing.
      for (const e of good) if (newest.ms - e.ms < d.ms) add(e, `keep_within ${rules.keepWithin}`);
    }
  }
  return reasons;
}
