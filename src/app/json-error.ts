// With --json (or plan's --format json) a failure is a JSON object on stdout, so scripts never parse prose.

/** Whether the command line asks for JSON output (options only: nothing after `--`). */
export function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const opts = end < 0 ? args : args.slice(0, end);
  return opts.some((a, i) => a === '--json' || a === '--format=json' || (a === '--format' && opts[i + 1] === 'json'));
}

/** The stable code of an error: its own (`HOST_PATH_UNSAFE`, `ENOENT`, …, see docs/errors.md), else `ERROR`. */
export function errorCode(e: unknown): string {
  const code = e && typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'ERROR';
}

/** `{"error": {"code": …, "message": …}}` and a newline. */
export function jsonError(code: string, message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ error: { code, message, ...extra } }, null, 2) + '\n';
}
