// A run's log lines as the console shows them: which run ids may name a file, and how a stored
// pino line becomes { at, level, msg, fields } with only an allow-list of fields (pure, lenient).
export interface RunLogLine { at: string; level: string; msg: string; fields: Record<string, unknown> }

/** Run ids are `<kind>-<vm>-<digits>-<pid>` (engine/context.ts newRun); only these characters become a file name. */
const SAFE_RUN_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
export const isSafeRunId = (id: unknown): id is string => typeof id === 'string' && SAFE_RUN_ID.test(id);

/** What a line may show besides its message: step timings, the error, what it was about. Never env, argv or URLs. */
export const RUN_LOG_FIELDS = ['step', 'ms', 'err', 'error', 'status', 'disk', 'target', 'backup', 'backupId', 'bytes', 'path', 'problem', 'action', 'warnings'] as const;

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const MAX_TEXT = 4000;

const clip = (s: string): string => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);

function keepValue(v: unknown): unknown {
  if (typeof v === 'string') return clip(v);
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.slice(0, 50).map(clip);
  return undefined;
}

/** One stored line, or undefined when it is not a JSON object. */
export function parseRunLogLine(line: string): RunLogLine | undefined {
  let o: unknown;
  try { o = JSON.parse(line); } catch { return undefined; }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  const at = typeof r.time === 'string' ? r.time : typeof r.time === 'number' && Number.isFinite(r.time) ? new Date(r.time).toISOString() : '';
  const level = typeof r.level === 'number' ? (LEVELS[r.level] ?? String(r.level)) : typeof r.level === 'string' ? r.level : 'info';
  const fields: Record<string, unknown> = {};
  for (const k of RUN_LOG_FIELDS) {
    const v = keepValue(r[k]);
    if (v !== undefined) fields[k] = v;
  }
  return { at, level, msg: typeof r.msg === 'string' ? clip(r.msg) : '', fields };
}

/** The lines of a stored run log, the last `maxLines` of them (the end holds the failure and any cut notice). */
export function parseRunLog(text: string, maxLines = 2000): RunLogLine[] {
  const out: RunLogLine[] = [];
  for (const l of text.split('\n')) {
    if (!l.trim()) continue;
    const p = parseRunLogLine(l);
    if (p) out.push(p);
  }
  return maxLines > 0 ? out.slice(-maxLines) : [];
}

/** The run id a serialized line carries, if it carries a usable one (cheap check before parsing). */
export function runIdOfLine(line: string): string | undefined {
  if (!line.includes('"run":')) return undefined;
  try {
    const o = JSON.parse(line) as { run?: unknown };
    return isSafeRunId(o.run) ? o.run : undefined;
  } catch { return undefined; }
}
