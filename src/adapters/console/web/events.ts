// Live progress for the console pages: Server-Sent Events on GET /ui/events (the session cookie
// authenticates, unlike /api/v1/events' bearer token), fed from the service's subscribe().
import type { FastifyInstance } from 'fastify';
import type { QueuedAction } from '../../../ports/console.js';
import { actionPage } from '../../../core/console/action-view.js';
import type { WebContext } from './context.js';
import { CSP } from './security.js';

/** At most this many open event streams (each holds a socket). */
export const MAX_STREAMS = 64;
const KEEPALIVE_MS = 15_000;

/** The fields progress.js shows: no more than the page already has. */
function event(a: QueuedAction): string {
  const p = actionPage(a);
  return `event: progress\ndata: ${JSON.stringify({ id: p.id, state: p.state, progress: p.progress, percent: p.percent, finished: p.finished, detail: p.detail, phases: p.phases })}\n\n`;
}

export function eventRoutes(ui: FastifyInstance, c: WebContext): void {
  let open = 0;
  ui.get('/ui/events', async (req, reply) => {
    const id = (req.query as { id?: string }).id;
    if (open >= MAX_STREAMS) return c.fail(reply, 503, 'Too many open progress streams; reload later.', c.session(req));
    open++;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-security-policy': CSP, connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    const now = id ? c.service.action(id) : undefined;
    if (now) res.write(event(now));
    const unsubscribe = c.service.subscribe(({ action }) => { if (!id || action.id === id) res.write(event(action)); });
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    req.raw.on('close', () => { open--; clearInterval(keepalive); unsubscribe(); });
  });
}
