// Binds an HttpApp to a TCP socket: 127.0.0.1 by default, so /metrics and the webhook are not
// reachable from the network unless the operator asks (a reverse proxy, or --listen 0.0.0.0:PORT).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpApp } from './app.js';

export const DEFAULT_HOST = '127.0.0.1';
/** Not registered on the Prometheus default-port wiki; change it with the daemon's listen option. */
export const DEFAULT_PORT = 9478;

export interface ListenOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** Whole-request deadline; slow clients are cut off (Slowloris). Default 30 s. */
  requestTimeoutMs?: number;
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

export function listen(app: HttpApp, opts: ListenOptions = {}): Promise<HttpServerHandle> {
  const host = opts.host ?? DEFAULT_HOST;
  const server = createServer({ requestTimeout: opts.requestTimeoutMs ?? 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, app);
  server.maxHeadersCount = 100;
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
