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

/** A POST must come from a page of this host: Origin (or, failing that, Referer) names the same host. */
export function sameOrigin(req: FastifyRequest): boolean {
  const host = req.headers.host;
  if (!host) return false;
  const from = req.headers.origin ?? req.headers.referer;
  if (typeof from !== 'string' || from === 'null') return false;
  try {
    const u = new URL(from);
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
