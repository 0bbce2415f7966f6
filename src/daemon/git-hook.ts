// POST /hooks/git: GitHub/Gitea-style push webhooks, authenticated by HMAC-SHA256 over the raw
// body (`X-Hub-Signature-256: sha256=<hex>`), compared in constant time. The headers are checked
// before the body is read; a signed delivery whose id was seen lately is refused (409) and
// triggers nothing; a valid hook triggers a reconcile at once. Answers carry stable codes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { HookResponse } from '../adapters/http/app.js';
import { errorBody } from '../adapters/http/errors.js';
import { DeliveryLog } from './delivery-log.js';

const SIGNATURE = /^sha256=[0-9a-f]{64}$/i;
/** Headers that carry a delivery id (Gitea and Forgejo send the GitHub one too, same value). */
export const DELIVERY_HEADERS = ['x-github-delivery', 'x-gitea-delivery', 'x-gogs-delivery', 'x-forgejo-delivery'] as const;
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function verifyHubSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header || !SIGNATURE.test(header)) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(body).digest('hex'), 'utf8');
  const got = Buffer.from(header.slice(7).toLowerCase(), 'utf8');
  return want.length === got.length && timingSafeEqual(want, got);
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v);

/** The delivery ids a request names, or 'bad' when one is malformed or repeated. */
export function deliveryIds(headers: IncomingHttpHeaders): string[] | 'bad' {
  const ids = new Set<string>();
  for (const h of DELIVERY_HEADERS) {
    if (headers[h] === undefined) continue;
    const v = one(headers[h]);
    if (v === undefined || !DELIVERY_ID.test(v)) return 'bad';
    ids.add(v);
  }
  return [...ids];
}

export interface GitHookRoutes {
  /** Header checks, before any of the body is read (HttpDeps.gitHookPrecheck). */
  gitHookPrecheck: (headers: IncomingHttpHeaders) => HookResponse | undefined;
  /** The full check on the raw body (HttpDeps.onGitHook). */
  onGitHook: (body: Buffer, headers: IncomingHttpHeaders) => HookResponse;
}

export function gitHookRoutes(secret: string | undefined, trigger: (reason: string) => void, deliveries: DeliveryLog = new DeliveryLog()): GitHookRoutes {
  const precheck = (headers: IncomingHttpHeaders): HookResponse | undefined => {
    if (!secret) return { status: 503, body: errorBody(503, 'WEBHOOK_NOT_CONFIGURED', 'no webhook secret configured (VMBACKUP_WEBHOOK_SECRET or credential webhook-hmac-secret)') };
    const sig = one(headers['x-hub-signature-256']);
    if (!sig || !SIGNATURE.test(sig)) return { status: 401, body: errorBody(401, 'WEBHOOK_BAD_SIGNATURE', 'bad or missing X-Hub-Signature-256') };
    if (deliveryIds(headers) === 'bad') return { status: 400, body: errorBody(400, 'WEBHOOK_BAD_DELIVERY_ID', 'malformed delivery id header') };
    return undefined;
  };
  const onGitHook = (body: Buffer, headers: IncomingHttpHeaders): HookResponse => {
    const early = precheck(headers);
    if (early) return early;
    if (!verifyHubSignature(secret!, body, one(headers['x-hub-signature-256']))) return { status: 401, body: errorBody(401, 'WEBHOOK_BAD_SIGNATURE', 'bad or missing X-Hub-Signature-256') };
    // Only signed deliveries are recorded, so unsigned requests cannot fill the log.
    const ids = deliveryIds(headers) as string[];
    if (deliveries.seen(ids)) return { status: 409, body: errorBody(409, 'WEBHOOK_REPLAYED_DELIVERY', 'this delivery id was already received') };
    deliveries.record(ids);
    let after = '';
    try { after = String((JSON.parse(body.toString('utf8')) as { after?: string }).after ?? ''); } catch { /* ping events carry no commit */ }
    trigger(`webhook${/^[0-9a-f]{7,64}$/.test(after) ? ` ${after.slice(0, 12)}` : ''}`);
    return { status: 202, body: { status: 'accepted' } };
  };
  return { gitHookPrecheck: precheck, onGitHook };
}

/** The body handler alone (all checks, including the header ones). */
export function gitHookHandler(secret: string | undefined, trigger: (reason: string) => void, deliveries?: DeliveryLog): GitHookRoutes['onGitHook'] {
  return gitHookRoutes(secret, trigger, deliveries).onGitHook;
}
