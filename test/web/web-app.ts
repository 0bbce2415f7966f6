// Builds a fastify app with only the console's web routes over the fake service (tests), and logs
// in through the real login form, returning the session cookie and the page's CSRF token.
import Fastify, { type FastifyInstance } from 'fastify';
import { join } from 'node:path';
import { webRoutes } from '../../src/adapters/console/web/routes.js';
import type { Principal } from '../../src/ports/console.js';
import { ROOT } from '../helpers/paths.js';
import { FakeConsole, NOW, TOKENS } from './fake-console.js';

export async function webApp(service = new FakeConsole(), logins: Principal[] = []): Promise<{ app: FastifyInstance; service: FakeConsole }> {
  const app = Fastify();
  await webRoutes(app, { service, authenticate: (t) => TOKENS[t], templatesDir: join(ROOT, 'templates'), now: () => NOW, onLogin: async (p) => { logins.push(p); } });
  await app.ready();
  return { app, service };
}

export const ORIGIN = 'http://localhost:80';
export const HOST = 'localhost:80';

export async function login(app: FastifyInstance, token: string): Promise<{ cookie: string; csrf: string }> {
  const r = await app.inject({ method: 'POST', url: '/ui/login', headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${encodeURIComponent(token)}` });
  const set = String(r.headers['set-cookie'] ?? '');
  const cookie = set.split(';')[0]!;
  if (r.statusCode !== 303 || !cookie.startsWith('vmb_session=')) throw new Error(`login failed: ${r.statusCode} ${r.body}`);
  const page = await app.inject({ method: 'GET', url: '/ui/', headers: { host: HOST, cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!csrf) throw new Error('no CSRF token on the fleet page');
  return { cookie, csrf };
}

export function post(app: FastifyInstance, url: string, s: { cookie: string; csrf?: string }, fields: Record<string, string>, headers: Record<string, string> = { origin: ORIGIN }) {
  const body = new URLSearchParams({ ...(s.csrf !== undefined ? { _csrf: s.csrf } : {}), ...fields }).toString();
  return app.inject({ method: 'POST', url, headers: { host: HOST, cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: body });
}
