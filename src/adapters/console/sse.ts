// GET /api/v1/events: live progress of ad-hoc actions as Server-Sent Events. Each event is one
// QueuedAction as it is now (`event: progress`); a comment every 15 s keeps proxies from
// closing an idle stream; the number of streams open at once is bounded (503 beyond it).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ConsoleService, QueuedAction } from '../../ports/console.js';
import { apiError } from './api-errors.js';
import { API_PREFIX, errors } from './api-schemas.js';
import type { AccessLog } from './app.js';

export const sseEvent = (a: QueuedAction): string => `event: progress\nid: ${a.id}\ndata: ${JSON.stringify(a)}\n\n`;

export function eventsRoute(app: FastifyInstance, s: ConsoleService, o: { max: number; keepAliveMs: number; log?: AccessLog }): void {
  let open = 0;
  app.get(`${API_PREFIX}/events`, {
    config: { role: 'viewer' },
    schema: {
      summary: `Server-Sent Events (text/event-stream): "event: progress" with a QueuedAction as data at every phase or percent change; the queued and running actions first; ": keep-alive" comments every ${o.keepAliveMs / 1000} s`,
      tags: ['read'], querystring: { type: 'object', additionalProperties: false, properties: {} },
      response: { 200: { description: 'an event stream', type: 'string' }, ...errors(503) },
    },
  }, async (req, reply) => {
    if (open >= o.max) return (reply as FastifyReply).code(503).header('retry-after', '30').send(apiError('API_TOO_MANY_STREAMS', `${o.max} event streams are open; try again later`));
    open++;
    o.log?.info({ method: req.method, route: `${API_PREFIX}/events`, status: 200, streams: open, ...(req.principal ? { by: `api:${req.principal.name}` } : {}) }, 'api event stream opened');
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(': vmbackup progress\n\n');
    for (const a of s.actions().filter((x) => x.state === 'queued' || x.state === 'running').reverse()) res.write(sseEvent(a));
    const unsubscribe = s.subscribe((ev) => { res.write(sseEvent(ev.action)); });
    const timer = setInterval(() => { res.write(': keep-alive\n\n'); }, o.keepAliveMs);
    let closed = false;
    const done = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      unsubscribe();
      open--;
    };
    req.raw.socket.once('close', done);
    res.once('close', done);
    return reply;
  });
}
