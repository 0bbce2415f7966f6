// What every console page handler shares: the service, the renderer, the sessions, the clock and
// zone, and the helpers that render a page (with the signed-in user's nav and CSRF token) or an error.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allows, ROLE_FOR, type ConsoleService, type Principal, type Role } from '../../../ports/console.js';
import type { Renderer } from './render.js';
import type { Session, SessionStore } from './sessions.js';
import { securityHeaders } from './security.js';

export interface WebContext {
  service: ConsoleService;
  renderer: Renderer;
  sessions: SessionStore;
  now: () => string;
  /** The zone days and times are shown in (per page: the applied settings can change it). */
  timeZone: () => string;
  /** The session of a request that passed the session check. */
  session: (req: FastifyRequest) => Session;
  html: (reply: FastifyReply, status: number, page: string, ctx: Record<string, unknown>, s?: Session) => FastifyReply;
  fail: (reply: FastifyReply, status: number, message: string, s?: Session) => FastifyReply;
}

/** Which buttons a role sees (the same table the API checks: ROLE_FOR). */
export function buttonsFor(role: Role): Record<'backup' | 'verify' | 'testRestore' | 'pause' | 'cancel' | 'prune' | 'restore', boolean> {
  return {
    backup: allows(role, ROLE_FOR.backup), verify: allows(role, ROLE_FOR.verify), testRestore: allows(role, ROLE_FOR['test-restore']),
    pause: allows(role, ROLE_FOR.pause), cancel: allows(role, ROLE_FOR.cancel), prune: allows(role, ROLE_FOR.prune), restore: allows(role, ROLE_FOR.restore),
  };
}

export function pageContext(s: Session | undefined, extra: Record<string, unknown>): Record<string, unknown> {
  const user: Principal | undefined = s?.principal;
  return { ...extra, ...(user ? { user: { name: user.name, role: user.role }, csrf: s!.csrf, can: buttonsFor(user.role) } : {}) };
}

export function makeRenderHelpers(renderer: Renderer): Pick<WebContext, 'html' | 'fail'> {
  const html: WebContext['html'] = (reply, status, page, ctx, s) => {
    securityHeaders(reply);
    return reply.code(status).type('text/html; charset=utf-8').send(renderer.page(page, pageContext(s, ctx)));
  };
  const fail: WebContext['fail'] = (reply, status, message, s) => html(reply, status, 'error', { title: `Error ${status}`, status, message }, s);
  return { html, fail };
}
