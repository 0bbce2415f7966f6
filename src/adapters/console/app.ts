// The console's HTTP API as a fastify app, built apart from listening (tests use inject(); the
// daemon hands its routing to the hardened listener, see combine.ts). Bearer tokens, roles per
// route, schema-validated requests, OpenAPI at /api/v1/openapi.json. Fastify's own logger is off:
// one access line per request goes through the daemon's logger, never with headers.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { bearerToken } from '../../core/console/tokens.js';
import { allows, type ConsoleService, type Principal, type Role } from '../../ports/console.js';
import { apiError } from './api-errors.js';
import { API_PREFIX } from './api-schemas.js';
import { readRoutes } from './routes-read.js';
import { actRoutes } from './routes-act.js';
import { eventsRoute } from './sse.js';
import { VERSION } from '../../version.js';

declare module 'fastify' {
  interface FastifyRequest { principal?: Principal }
  interface FastifyContextConfig {
    /** The least role the route needs; absent with `public`: no token needed. */
    role?: Role;
    public?: boolean;
    /** The audited act a 403 on this route is recorded as. */
    act?: string;
  }
}

export interface AccessLog { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void }

export interface ConsoleAppDeps {
  service: ConsoleService;
  /** A bearer token → its principal (src/adapters/console/auth.ts), or undefined. */
  authenticate: (token: string) => Principal | undefined;
  log?: AccessLog;
  /** Text filter for any message that may carry request text. */
  scrub?: (s: string) => string;
  /** Request body cap (default 64 KiB, like the webhook). */
  bodyLimit?: number;
  /** Server-Sent Events streams open at once (default 16). */
  maxEventStreams?: number;
  /** SSE keep-alive comment interval (default 15 s). */
  keepAliveMs?: number;
  /** A role refusal (403) of an act, for the audit trail. */
  onForbidden?: (p: Principal, act: string, vm: string | undefined, need: Role) => Promise<void>;
  /** Registers more routes (the web pages under /ui) on the same instance. */
  extra?: (app: FastifyInstance) => Promise<void>;
}

export { API_PREFIX } from './api-schemas.js';
export const DEFAULT_BODY_LIMIT = 64 * 1024;

export async function buildConsoleApp(d: ConsoleAppDeps): Promise<FastifyInstance> {
  const scrub = d.scrub ?? ((s: string) => s);
  const app = Fastify({
    logger: false,
    bodyLimit: d.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Unknown fields are refused, not silently dropped (fastify's default removeAdditional).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    return503OnClosing: true,
  });
  app.decorateRequest('principal', undefined);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'vmbackup operations console API', version: VERSION, description: 'Bearer tokens (viewer < operator < admin); see docs/api.md.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // The document describes the API only (the web pages under /ui are not part of it).
    transform: ({ schema, url }) => ({ schema: (url.startsWith(`${API_PREFIX}/`) ? schema : { ...schema, hide: true }) as never, url }),
  });

  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/')) return; // the web pages authenticate by their own session
    const cfg = req.routeOptions.config;
    if (cfg.public) return;
    const token = bearerToken(req.headers.authorization);
    const p = token ? d.authenticate(token) : undefined;
    if (!p) return reply.code(401).header('www-authenticate', 'Bearer realm="vmbackup"').send(apiError('API_UNAUTHORIZED', 'a valid API token is required (Authorization: Bearer <token>)'));
    req.principal = p;
    if (req.routeOptions.url === undefined) return undefined; // no such route: 404 for any valid token
    const need = cfg.role ?? 'admin';
    if (!allows(p.role, need)) {
      if (cfg.act) await d.onForbidden?.(p, cfg.act, (req.params as { vm?: string } | undefined)?.vm, need).catch(() => undefined);
      return reply.code(403).send(apiError('API_FORBIDDEN', `this needs the ${need} role; token ${p.name} has ${p.role}`));
    }
    return undefined;
  });
  // An act that needs no body may be sent without one (curl -X POST); the schema then sees {}.
  app.addHook('preValidation', async (req) => { if (req.method === 'POST' && (req.body === undefined || req.body === null)) req.body = {}; });
  app.addHook('onResponse', async (req, reply) => {
    d.log?.info({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime), ...(req.principal ? { by: `api:${req.principal.name}` } : {}) }, 'api request');
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(apiError('API_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return reply.code(400).send(apiError('API_BAD_REQUEST', scrub(err.message)));
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).header('connection', 'close').send(apiError('API_BODY_TOO_LARGE', `body larger than ${d.bodyLimit ?? DEFAULT_BODY_LIMIT} bytes`));
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send(apiError('API_UNSUPPORTED_MEDIA_TYPE', 'send application/json'));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send(apiError('API_BAD_REQUEST', scrub(err.message)));
    d.log?.error({ err: scrub(err.message), route: req.routeOptions.url }, 'api request failed');
    return reply.code(500).send(apiError('API_INTERNAL_ERROR', 'internal error'));
  });

  app.get(`${API_PREFIX}/openapi.json`, { config: { public: true }, schema: { summary: 'This OpenAPI 3 document (no token needed)', security: [], response: { 200: { type: 'object', additionalProperties: true } } } }, async () => app.swagger());
  readRoutes(app, d.service);
  actRoutes(app, d.service);
  eventsRoute(app, d.service, { max: d.maxEventStreams ?? 16, keepAliveMs: d.keepAliveMs ?? 15_000, ...(d.log ? { log: d.log } : {}) });
  if (d.extra) await d.extra(app);
  await app.ready();
  return app;
}
