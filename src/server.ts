/**
 * Listening and stopping. HTTPS natively (or plain HTTP behind a TLS-terminating proxy), and a drain on
 * SIGTERM/SIGINT: readiness turns 503, no new connections, streams get a final event, in-flight calls get up to
 * the grace period, then the process may exit.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { TlsCredentials } from './embedded-defaults.js';
import type { Lifecycle } from './lifecycle.js';

/**
 * Request line plus headers, in bytes. Node answers 431 past it, before the app sees anything. 8 KiB (nginx's
 * default per header line) leaves room for a bearer token and a session cookie, and keeps the parser's
 * per-connection buffer small under a flood.
 */
export const MAX_HEADER_BYTES = 8 * 1024;

export interface Listening {
  server: Server;
  url: string;
  /** Drains and closes; resolves when every connection is gone or the grace period is over. */
  stop(graceMs: number): Promise<void>;
}

export async function listen(
  app: Koa<never> | Koa<Koa.DefaultState>,
  options: { host: string; port: number; tls: TlsCredentials | undefined; lifecycle: Lifecycle },
): Promise<Listening> {
  const callback = (app as Koa).callback();
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, maxHeaderSize: MAX_HEADER_BYTES }, callback)
    : createHttpServer({ maxHeaderSize: MAX_HEADER_BYTES }, callback);
  // Streams stay open far longer than Node's default request timeout; heartbeats, not timers, keep them honest.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    stop: (graceMs) => stop(server, options.lifecycle, graceMs),
  };
}

async function stop(server: Server, lifecycle: Lifecycle, graceMs: number): Promise<void> {
  lifecycle.drain();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A keep-alive connection turns idle when its last response ends; close each one as soon as it does.
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
  await Promise.race([closed, grace]);
  clearInterval(sweep);
  clearTimeout(timer);
  server.closeAllConnections();
  await closed;
}
