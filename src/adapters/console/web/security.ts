// The console pages' HTTP hardening: a strict Content-Security-Policy (no inline script or style),
// nosniff, no referrer, no framing, no caching; and the same-origin check for every form POST.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

export function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  reply.header('cache-control', 'no-store');
}

/**
 * A POST must come from a page of this host: Origin names the same host; or, where the browser sends
 * `Origin: null` (our `Referrer-Policy: no-referrer` makes Chromium do so for form posts), the
 * browser-set `Sec-Fetch-Site: same-origin` (a page cannot forge it); failing both, Referer.
 */
export function sameOrigin(req: FastifyRequest): boolean {
  const host = req.headers.host;
  if (!host) return false;
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') return sameHost(origin, host);
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const referer = req.headers.referer;
  return typeof referer === 'string' && sameHost(referer, host);
}

function sameHost(url: string, host: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && new URL(`${u.protocol}//${host}`).host === u.host; // default ports compare equal
  } catch { return false; }
}

/** The form fields as strings (first value wins), from the urlencoded body. */
export function field(body: unknown, name: string): string {
  if (!body || typeof body !== 'object') return '';
  const v = (body as Record<string, unknown>)[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s : '';
}
