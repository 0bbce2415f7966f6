// Binds an HttpApp to a TCP socket: 127.0.0.1 by default, so /metrics and the webhook are not
// reachable from the network unless the operator asks (a reverse proxy, or --listen 0.0.0.0:PORT).
// The socket is bounded: a connection cap, a header deadline and a whole-request deadline.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpApp } from './app.js';

export const DEFAULT_HOST = '127.0.0.1';
/** Not registered on the Prometheus default-port wiki; change it with the daemon's listen option. */
export const DEFAULT_PORT = 9478;
export const DEFAULT_MAX_CONNECTIONS = 64;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface ListenOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** Whole-request deadline (headers and body); slow clients are cut off. Default 30 s. */
  requestTimeoutMs?: number;
  /** The request line and headers must arrive within this time, counted from the connection or
   *  the end of the previous request (Slowloris): else 408 and the connection is closed. Default 10 s. */
  headersTimeoutMs?: number;
  /** Connections open at once; more are dropped as soon as they are accepted. Default 64. */
  maxConnections?: number;
  /** Called when a connection is dropped by the cap (rate-limit any logging). */
  onDrop?: () => void;
}

export interface HttpServerHandle {
  server: Server;
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:9478 */
  url: string;
  /** Stops accepting, lets in-flight requests finish for up to graceMs, then drops the rest. */
  close(graceMs?: number): Promise<void>;
}

/** Parses `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT` (the daemon's --listen value). */
export function parseListenAddress(s: string): { host: string; port: number } | { error: string } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(s) ?? /^()()(\d+)$/.exec(s);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) return { error: `listen address ${JSON.stringify(s)}: expected HOST:PORT, [IPv6]:PORT or PORT` };
  return { host: m[1] || m[2] || DEFAULT_HOST, port };
}

/** The limits, checked: Node refuses a header deadline longer than the request deadline. */
export function serverLimits(opts: ListenOptions): { headersTimeout: number; requestTimeout: number; maxConnections: number; connectionsCheckingInterval: number } {
  const headersTimeout = opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeout = opts.requestTimeoutMs ?? Math.max(DEFAULT_REQUEST_TIMEOUT_MS, headersTimeout);
  const maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(headersTimeout) || headersTimeout < 1) throw new RangeError(`header timeout must be a positive number of ms, got ${headersTimeout}`);
  if (!Number.isInteger(requestTimeout) || requestTimeout < headersTimeout) throw new RangeError(`request timeout (${requestTimeout} ms) must be at least the header timeout (${headersTimeout} ms)`);
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new RangeError(`max connections must be a positive integer, got ${maxConnections}`);
  // Node checks both deadlines on this interval (default 30 s, which would let a slow client
  // hold a connection three times the header timeout): check at least every second.
  const connectionsCheckingInterval = Math.max(25, Math.min(1000, Math.floor(headersTimeout / 4)));
  return { headersTimeout, requestTimeout, maxConnections, connectionsCheckingInterval };
}

export function listen(app: HttpApp, opts: ListenOptions = {}): Promise<HttpServerHandle> {
  const host = opts.host ?? DEFAULT_HOST;
  const l = serverLimits(opts);
  const server = createServer({ requestTimeout: l.requestTimeout, headersTimeout: l.headersTimeout, connectionsCheckingInterval: l.connectionsCheckingInterval, keepAliveTimeout: 5_000 }, app);
  server.maxHeadersCount = 100;
  server.maxConnections = l.maxConnections;
  if (opts.onDrop) server.on('drop', opts.onDrop);
  // `Expect: 100-continue` with a body over the cap: answer (413) without inviting the body.
  server.on('checkContinue', (req, res) => {
    if (Number(req.headers['content-length'] ?? Infinity) <= app.maxBodyBytes) res.writeContinue();
    app(req, res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_PORT, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        server, host: addr.address, port: addr.port, url: `http://${shown}:${addr.port}`,
        close: (graceMs = 5_000) => new Promise<void>((done) => {
          const force = setTimeout(() => server.closeAllConnections(), graceMs);
          force.unref();
          server.close(() => { clearTimeout(force); done(); });
          server.closeIdleConnections();
        }),
      });
    });
  });
}
