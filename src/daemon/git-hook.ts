// POST /hooks/git: GitHub-style push webhooks, authenticated by HMAC-SHA256 over the raw body
// (`X-Hub-Signature-256: sha256=<hex>`), compared in constant time. A valid hook triggers a
// reconcile at once; anything else is refused without reading further.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function verifyHubSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(body).digest('hex'), 'utf8');
  const got = Buffer.from(header.slice(7).toLowerCase(), 'utf8');
  return want.length === got.length && timingSafeEqual(want, got);
}

export function gitHookHandler(secret: string | undefined, trigger: (reason: string) => void) {
  return (body: Buffer, headers: Record<string, string | string[] | undefined>): { status: number; body: { status: string; reason?: string } } => {
    if (!secret) return { status: 503, body: { status: 'error', reason: 'no webhook secret configured (VMBACKUP_WEBHOOK_SECRET or credential webhook-hmac-secret)' } };
    const sig = headers['x-hub-signature-256'];
    if (!verifyHubSignature(secret, body, Array.isArray(sig) ? sig[0] : sig)) return { status: 401, body: { status: 'error', reason: 'bad or missing X-Hub-Signature-256' } };
    let after = '';
    try { after = String((JSON.parse(body.toString('utf8')) as { after?: string }).after ?? ''); } catch { /* ping events carry no commit */ }
    trigger(`webhook${after ? ` ${after.slice(0, 12)}` : ''}`);
    return { status: 202, body: { status: 'accepted' } };
  };
}
