// The daemon's HTTP surface: /healthz, /readyz, /metrics and POST /hooks/git. Built like
// fastify's build()/listen() split: buildHttpApp() returns a plain node:http request listener
// (with inject() for tests that need no port); listen() in ./listen.ts binds it to a socket.
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { CONTENT_TYPE } from '../../core/metrics.js';
import { errorBody, type HttpErrorCode } from './errors.js';
import { readinessBody, type Readiness } from './readiness.js';

export type { Readiness, NotReadyCode, ReadyNoteCode } from './readiness.js';

export interface HookResponse { status: number; body?: string | object; headers?: Record<string, string> }

export interface Logish {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface HttpDeps {
  /** 200 once the daemon has applied a revision and finished its first reconcile; else a code. */
  readiness: () => Readiness | Promise<Readiness>;
  /** The Prometheus exposition text (a MetricsRegistry fits). */
  metrics: { render(): string | Promise<string> };
  /** POST /hooks/git, from the headers alone, before a byte of the body is read: a refusal
   *  (no secret configured, no well-formed signature header), or undefined to read the body. */
  gitHookPrecheck?: (headers: IncomingHttpHeaders) => HookResponse | undefined;
  /** POST /hooks/git: the raw body (for the HMAC) and the headers. Absent: 404. */
  onGitHook?: (rawBody: Buffer, headers: IncomingHttpHeaders) => HookResponse | Promise<HookResponse>;
  log?: Logish;
  /** Webhook body cap; a larger declared Content-Length gets 413 unread, a streamed body is cut
   *  at the cap and the connection closed. Default 64 KiB (a push payload is a few KiB). */
  maxBodyBytes?: number;
  /** How long readiness()/metrics.render()/onGitHook() may take before a 503. Default 10 s. */
  handlerTimeoutMs?: number;
}

export interface InjectRequest { method?: string; url: string; headers?: IncomingHttpHeaders; body?: string | Buffer }
export interface AppResponse { status: number; headers: Record<string, string>; body: string }

export type HttpApp = RequestListener & {
  /** Runs a request through the routes without a socket (fastify's inject()). */
  inject(req: InjectRequest): Promise<AppResponse>;
  readonly maxBodyBytes: number;
};

export const MAX_BODY_BYTES = 64 * 1024;

const CLOSE = { connection: 'close' };

const json = (status: number, body: unknown, headers: Record<string, string> = {}): AppResponse =>
  ({ status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: `${JSON.stringify(body)}\n` });

const fail = (status: number, code: HttpErrorCode, message: string, headers: Record<string, string> = {}): AppResponse =>
  json(status, errorBody(status, code, message), headers);

const ROUTES: Record<string, string[]> = {
  '/healthz': ['GET', 'HEAD'], '/readyz': ['GET', 'HEAD'], '/metrics': ['GET', 'HEAD'], '/hooks/git': ['POST'],
};

class BodyTooLarge extends Error {}
class TimedOut extends Error {}

/** Whether the request announces a body we are not going to read (then the connection is closed
 *  after the answer rather than drained). */
const declaresBody = (h: IncomingHttpHeaders): boolean => Number(h['content-length'] ?? 0) > 0 || h['transfer-encoding'] !== undefined;

/** Reads the body, refusing (before reading) a declared length over the cap and stopping as soon
 *  as the streamed bytes pass it. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!(declared <= max)) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > max) { req.off('data', onData); req.pause(); reject(new BodyTooLarge()); return; }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function withTimeout<T>(p: T | Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new TimedOut(`${what} did not answer within ${ms} ms`)), ms); });
  return Promise.race([Promise.resolve(p), timeout]).finally(() => clearTimeout(timer));
}

export function buildHttpApp(deps: HttpDeps): HttpApp {
  const maxBodyBytes = deps.maxBodyBytes ?? MAX_BODY_BYTES;
  const timeoutMs = deps.handlerTimeoutMs ?? 10_000;
  const started = Date.now();

  async function route(method: string, path: string, headers: IncomingHttpHeaders, body: () => Promise<Buffer>): Promise<AppResponse> {
    const allowed = ROUTES[path];
    const unread = declaresBody(headers) ? CLOSE : {};
    if (!allowed || (path === '/hooks/git' && !deps.onGitHook)) return fail(404, 'NOT_FOUND', 'no such route', unread);
    if (!allowed.includes(method)) return fail(405, 'METHOD_NOT_ALLOWED', `use ${allowed.join(' or ')}`, { allow: allowed.join(', '), ...unread });
    switch (path) {
      case '/healthz':
        // Answering at all proves the event loop turns; nothing else is checked on purpose.
        return json(200, { status: 'ok', uptime_seconds: Math.round((Date.now() - started) / 1000) }, unread);
      case '/readyz': {
        let r: Readiness;
        try { r = await withTimeout(deps.readiness(), timeoutMs, 'readiness'); } catch (e) {
          // The error text stays in the log: it may hold a secret or repository text.
          deps.log?.error({ err: e }, 'readiness check failed');
          r = { ready: false, code: e instanceof TimedOut ? 'READINESS_CHECK_TIMEOUT' : 'READINESS_CHECK_FAILED' };
        }
        const out = readinessBody(r);
        return json(out.status, out.body, unread);
      }
      case '/metrics': {
        try {
          const text = await withTimeout(deps.metrics.render(), timeoutMs, 'metrics');
          return { status: 200, headers: { 'content-type': CONTENT_TYPE, ...unread }, body: text };
        } catch (e) {
          deps.log?.error({ err: e }, 'rendering metrics failed');
          return fail(500, 'METRICS_UNAVAILABLE', 'metrics unavailable', unread);
        }
      }
      default: {
        const early = deps.gitHookPrecheck?.(headers);
        if (early) return hookResponse({ ...early, headers: { ...early.headers, ...CLOSE } });
        let raw: Buffer;
        try { raw = await body(); } catch (e) {
          if (e instanceof BodyTooLarge) return fail(413, 'WEBHOOK_BODY_TOO_LARGE', `body larger than ${maxBodyBytes} bytes`, CLOSE);
          throw e;
        }
        try {
          return hookResponse(await withTimeout(deps.onGitHook!(raw, headers), timeoutMs, 'git hook'));
        } catch (e) {
          deps.log?.error({ err: e }, 'git hook handler failed');
          return fail(500, 'WEBHOOK_HANDLER_FAILED', 'hook handler failed');
        }
      }
    }
  }

  const hookResponse = (r: HookResponse): AppResponse => {
    const text = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : `${JSON.stringify(r.body)}\n`;
    const type = typeof r.body === 'object' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
    return { status: r.status, headers: { 'content-type': type, ...r.headers }, body: text };
  };

  const pathOf = (url: string | undefined): string => {
    const u = url ?? '/';
    const q = u.indexOf('?');
    return q < 0 ? u : u.slice(0, q);
  };

  const listener: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    route(method, pathOf(req.url), req.headers, () => readBody(req, maxBodyBytes))
      .catch((e: unknown): AppResponse => { deps.log?.error({ err: e, url: req.url }, 'http request failed'); return fail(500, 'INTERNAL_ERROR', 'internal error', CLOSE); })
      .then((r) => {
        const body = Buffer.from(r.body);
        res.writeHead(r.status, { ...r.headers, 'content-length': String(body.length), 'cache-control': 'no-store' });
        res.end(method === 'HEAD' ? undefined : body);
        // Drain nothing more from a client whose body was refused or not read.
        if (r.headers.connection === 'close') res.once('finish', () => req.socket.destroySoon());
      });
  };

  async function inject(r: InjectRequest): Promise<AppResponse> {
    const raw = typeof r.body === 'string' ? Buffer.from(r.body) : r.body ?? Buffer.alloc(0);
    const method = (r.method ?? 'GET').toUpperCase();
    const res = await route(method, pathOf(r.url), r.headers ?? {}, async () => {
      if (raw.length > maxBodyBytes) throw new BodyTooLarge();
      return raw;
    });
    return method === 'HEAD' ? { ...res, body: '' } : res;
  }

  return Object.assign(listener, { inject, maxBodyBytes });
}
