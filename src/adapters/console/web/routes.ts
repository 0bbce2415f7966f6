// The console's web pages (server-rendered from templates/console/*.hbs) under /ui, registered on
// the API's fastify instance: login by token into a server-side session, then the fleet, a VM,
// storage, action progress (SSE at /ui/events) and the restore wizard. Works without JavaScript.
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleService, Principal } from '../../../ports/console.js';
import { makeRenderHelpers, type WebContext } from './context.js';
import { loadRenderer } from './render.js';
import { csrfOk, SESSION_COOKIE, SESSION_TTL_MS, SessionStore, type Session } from './sessions.js';
import { field, sameOrigin, securityHeaders } from './security.js';
import { pageRoutes } from './pages.js';
import { actRoutes } from './acts.js';
import { restoreRoutes } from './restore.js';
import { eventRoutes } from './events.js';

export interface WebOptions {
  service: ConsoleService;
  /** A bearer token → its principal, or undefined (src/adapters/console/auth.ts). */
  authenticate: (token: string) => Principal | undefined;
  /** Where templates/console lives (the package's templates dir). */
  templatesDir: string;
  /** Audit a web login (act `login`), called with the principal after a good token. */
  onLogin?: (p: Principal) => Promise<void>;
  /** Days and times on the pages (the applied settings' time zone, asked per page); default UTC. */
  timeZone?: string | (() => string | undefined);
  /** The clock (tests); default the system clock. */
  now?: () => string;
  /** The session store (tests: a short expiry); default 12 h, at most 1000 sessions. */
  sessions?: SessionStore;
}

const FORM = 'application/x-www-form-urlencoded';
const PUBLIC = new Set(['/ui/login']);

export async function webRoutes(app: FastifyInstance, o: WebOptions): Promise<void> {
  await app.register(async (ui) => {
    if (!ui.hasRequestDecorator('cookies')) await ui.register(cookie);
    if (!ui.hasContentTypeParser(FORM)) {
      ui.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 16_384 }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
    }
    const renderer = loadRenderer(o.templatesDir);
    const sessions = o.sessions ?? new SessionStore();
    const bySession = new WeakMap<FastifyRequest, Session>();
    const ctx: WebContext = {
      service: o.service, renderer, sessions, timeZone: () => (typeof o.timeZone === 'function' ? o.timeZone() : o.timeZone) ?? 'UTC', now: o.now ?? (() => new Date().toISOString()),
      session: (req) => bySession.get(req)!, ...makeRenderHelpers(renderer),
    };

    // Every /ui route but login and the static files needs a session; every POST a same-origin form with the CSRF token.
    ui.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
      const path = req.url.split('?')[0]!;
      if (!path.startsWith('/ui') || path.startsWith('/ui/static/')) return;
      if (req.method === 'POST' && !sameOrigin(req)) return ctx.fail(reply, 403, 'This form did not come from this console (Origin check failed).');
      if (PUBLIC.has(path)) return;
      const s = sessions.get(req.cookies[SESSION_COOKIE]);
      if (!s) { securityHeaders(reply); return reply.code(303).header('location', '/ui/login').send(); }
      if (req.method === 'POST' && !csrfOk(s, field(req.body, '_csrf'))) return ctx.fail(reply, 403, 'The form has expired or was not sent by this console (CSRF token). Reload the page and try again.', s);
      bySession.set(req, s);
    });

    ui.get('/ui/static/:file', async (req, reply) => {
      const f = renderer.static((req.params as { file: string }).file);
      if (!f) return reply.code(404).type('text/plain').send('not found');
      securityHeaders(reply);
      return reply.header('cache-control', 'public, max-age=300').type(f.type).send(f.body);
    });

    ui.get('/ui', async (_req, reply) => reply.code(303).header('location', '/ui/').send());
    ui.get('/ui/login', async (_req, reply) => ctx.html(reply, 200, 'login', { title: 'Sign in' }));
    ui.post('/ui/login', async (req, reply) => {
      const token = field(req.body, 'token').trim();
      const who = token ? o.authenticate(token) : undefined;
      if (!who) return ctx.html(reply, 401, 'login', { title: 'Sign in', error: 'That token was not accepted.' });
      const s = sessions.create(who);
      await o.onLogin?.(s.principal);
      reply.setCookie(SESSION_COOKIE, s.id, { path: '/ui', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https', maxAge: SESSION_TTL_MS / 1000 });
      securityHeaders(reply);
      return reply.code(303).header('location', '/ui/').send();
    });
    ui.post('/ui/logout', async (req, reply) => {
      sessions.delete(ctx.session(req).id);
      reply.clearCookie(SESSION_COOKIE, { path: '/ui' });
      securityHeaders(reply);
      return reply.code(303).header('location', '/ui/login').send();
    });

    // Unknown /ui paths: the small HTML error page with the CSP headers (the API keeps its JSON 404).
    await ui.register(async (under) => {
      under.setNotFoundHandler((req, reply) => ctx.fail(reply, 404, 'No such page.', sessions.get(req.cookies[SESSION_COOKIE])));
    }, { prefix: '/ui' });
    pageRoutes(ui, ctx);
    actRoutes(ui, ctx);
    restoreRoutes(ui, ctx);
    eventRoutes(ui, ctx);
  });
}
