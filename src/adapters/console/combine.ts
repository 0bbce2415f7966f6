// One listener for the daemon's socket: /api/…, /ui… and / go to the console's fastify app, the
// rest (healthz, readyz, metrics, hooks/git) to the hand-written HTTP app, so both share the
// hardened listener's limits (connection cap, header and request deadlines).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { HttpApp } from '../http/app.js';

export const isConsolePath = (url: string | undefined): boolean => {
  const path = (url ?? '/').split('?')[0]!;
  return path === '/' || path.startsWith('/api/') || path === '/api' || path === '/ui' || path.startsWith('/ui/');
};

/** The console app must be ready() (buildConsoleApp awaits it). */
export function combineListeners(base: HttpApp, consoleApp: FastifyInstance): HttpApp {
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (isConsolePath(req.url)) consoleApp.routing(req, res);
    else base(req, res);
  };
  return Object.assign(listener, { inject: base.inject, maxBodyBytes: base.maxBodyBytes });
}
