// The daemon's HTTP surface: /healthz, /readyz, /metrics and POST /hooks/git. Built like
// fastify's build()/listen() split: buildHttpApp() returns a plain node:http request listener
// (with inject() for tests that need no port); listen() in ./listen.ts binds it to a socket.
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { CONTENT_TYPE } from '../../core/metrics.js';

/** `ready: false` needs a reason; it is returned to the caller as JSON with a 503. */
export type Readiness = { ready: true; revision?: string } | { ready: false; reason: string };

export interface HookResponse { status: number; body?: string | object; headers?: Record<string, string> }

export interface Logish {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface HttpDeps {
  /** 200 once the daemon has applied a revision and finished its first reconcile. */
  readiness: () => Readiness | Promise<Readiness>;
  /** The Prometheus exposition text (a MetricsRegistry fits). */
  metrics: { render(): string | Promise<string> };
  /** POST /hooks/git: the raw body (for the HMAC) and the headers. Absent: 404. */
  onGitHook?: (rawBody: Buffer, headers: IncomingHttpHeaders) => HookResponse | Promise<HookResponse>;
  log?: Logish;
  /** Request body cap; larger bodies get 413. Default 1 MiB. */
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

export const MAX_BODY_BYTES = 1024 * 1024;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): AppResponse =>
  ({ status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: `${JSON.stringify(body)}\n` });

const ROUTES: Record<string, string[]> = {
  '/healthz': ['GET', 'HEAD'], '/readyz': ['GET', 'HEAD'], '/metrics': ['GET', 'HEAD'], '/hooks/git': ['POST'],
};

class BodyTooLarge extends Error {}

/** Reads the body, refusing (before reading) a declared length over the cap and stopping as soon
 *  as the streamed bytes pass it. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.reject(new BodyTooLarge());
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
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms); });
  return Promise.race([Promise.resolve(p), timeout]).finally(() => clearTimeout(timer));
}

export function buildHttpApp(deps: HttpDeps): HttpApp {
  const maxBodyBytes = deps.maxBodyBytes ?? MAX_BODY_BYTES;
  const timeoutMs = deps.handlerTimeoutMs ?? 10_000;
  const started = Date.now();

  async function route(method: string, path: string, headers: IncomingHttpHeaders, body: () => Promise<Buffer>): Promise<AppResponse> {
    const allowed = ROUTES[path];
    if (!allowed || (path === '/hooks/git' && !deps.onGitHook)) return json(404, { error: 'not found' });
    if (!allowed.includes(method)) return json(405, { error: 'method not allowed' }, { allow: allowed.join(', ') });
    switch (path) {
      case '/healthz':
        // Answering at all proves the event loop turns; nothing else is checked on purpose.
        return json(200, { status: 'ok', uptime_seconds: Math.round((Date.now() - started) / 1000) });
      case '/readyz': {
        let r: Readiness;
        try { r = await withTimeout(deps.readiness(), timeoutMs, 'readiness'); } catch (e) { r = { ready: false, reason: e instanceof Error ? e.message : String(e) }; }
        return r.ready ? json(200, { status: 'ready', ...(r.revision ? { revision: r.revision } : {}) }) : json(503, { status: 'not ready', reason: r.reason });
      }
      case '/metrics': {
        try {
          const text = await withTimeout(deps.metrics.render(), timeoutMs, 'metrics');
          return { status: 200, headers: { 'content-type': CONTENT_TYPE }, body: text };
        } catch (e) {
          deps.log?.error({ err: e }, 'rendering metrics failed');
          return json(500, { error: 'metrics unavailable' });
        }
      }
      default: {
        let raw: Buffer;
        try { raw = await body(); } catch (e) {
          if (e instanceof BodyTooLarge) return json(413, { error: `body larger than ${maxBodyBytes} bytes` }, { connection: 'close' });
          throw e;
        }
        try {
          const r = await withTimeout(deps.onGitHook!(raw, headers), timeoutMs, 'git hook');
          const text = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : `${JSON.stringify(r.body)}\n`;
          const type = typeof r.body === 'object' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
          return { status: r.status, headers: { 'content-type': type, ...r.headers }, body: text };
        } catch (e) {
          deps.log?.error({ err: e }, 'git hook handler failed');
          return json(500, { error: 'hook handler failed' });
        }
      }
    }
  }

  const pathOf = (url: string | undefined): string => {
    const u = url ?? '/';
    const q = u.indexOf('?');
    return q < 0 ? u : u.slice(0, q);
  };

  const listener: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    route(method, pathOf(req.url), req.headers, () => readBody(req, maxBodyBytes))
      .catch((e: unknown): AppResponse => { deps.log?.error({ err: e, url: req.url }, 'http request failed'); return json(500, { error: 'internal error' }, { connection: 'close' }); })
      .then((r) => {
        const body = Buffer.from(r.body);
        res.writeHead(r.status, { ...r.headers, 'content-length': String(body.length), 'cache-control': 'no-store' });
        res.end(method === 'HEAD' ? undefined : body);
        // Drain nothing more from a client whose body was refused.
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
