// POSTs a JSON payload to a webhook (Slack, Teams, generic), classifying failures for the retry
// queue: 429 and 5xx and network errors are retryable, other 4xx are not. The URL (which IS the
// secret for incoming webhooks) never appears in an error message.
import { scrubSecrets } from './secrets.js';

export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(message: string, readonly retryable: boolean, readonly retryAfterMs?: number, readonly status?: number) {
    super(message);
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined if absent/garbled. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
}

export interface PostOptions {
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** The vault's scrub: applied to the body sent and to every error text. */
  scrub?: (s: string) => string;
}

export const HTTP_TIMEOUT_MS = 10_000;

function causeText(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
  return err.cause?.code ?? err.cause?.message ?? err.message;
}

/** Resolves on 2xx; otherwise throws DeliveryError with a message safe to log. */
export async function postJson(url: string, body: string, o: PostOptions = {}): Promise<void> {
  const doFetch = o.fetch ?? fetch;
  const scrub = o.scrub ?? ((s: string) => s);
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'vmbackup' },
      body: scrub(body),
      signal: AbortSignal.timeout(o.timeoutMs ?? HTTP_TIMEOUT_MS),
    });
  } catch (e) {
    throw new DeliveryError(scrub(scrubSecrets(`request failed: ${causeText(e)}`, [url])), true);
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return;
  const snippet = scrub(scrubSecrets(text.slice(0, 200).replace(/\s+/g, ' ').trim(), [url]));
  const msg = `HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`;
  const retryable = res.status === 429 || res.status === 408 || res.status >= 500;
  const after = retryable ? parseRetryAfter(res.headers.get('retry-after'), (o.now ?? Date.now)()) : undefined;
  throw new DeliveryError(msg, retryable, after, res.status);
}
