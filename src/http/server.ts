/**
 * Listening and stopping. HTTPS natively (or plain HTTP behind a TLS-terminating proxy), and a drain on
 * SIGTERM/SIGINT: readiness turns 503, new requests get 503, streams get a final event, tool calls in flight get
 * up to the grace period, then the connections close and the process may exit.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import type { TlsCredentials } from '../embedded-defaults.js';
import type { ClientErrorListener } from './client-error.js';
import { trackConnections, type Connections } from './connections.js';
import type { Lifecycle } from '../lifecycle.js';

/**
 * Request line plus headers, in bytes. Node answers 431 past it, before the app sees anything. 8 KiB (nginx's
 * default per header line) leaves room for a bearer token and a session cookie, and keeps the parser's
 * per-connection buffer small under a flood.
 */
const MAX_HEADER_BYTES = 8 * 1024;

/** How often a drain closes the connections that turned idle. */
const SWEEP_MS = 50;

/** Where the drain reports the calls its grace period cut; a pino `Logger` fits. */
export interface DrainLog {
  warn(obj: object, msg: string): void;
}

export interface ListenOptions {
  host: string;
  port: number;
  tls: TlsCredentials | undefined;
  lifecycle: Lifecycle;
  log: DrainLog;
  /** RECEIVE_TIMEOUT_MS: how long receiving one request (headers and body) may take. */
  receiveTimeoutMs: number;
  /** Answers what Node reports outside any route, the receive timeout's 408 among it. */
  onClientError: ClientErrorListener;
}

/**
 * Node's bounds on receiving a request. `requestTimeout` and `headersTimeout` run from a request's first byte until
 * its body is in, so a response, however long it streams, is never cut by them; heartbeats keep streams honest.
 * Node checks them every `connectionsCheckingInterval` (30 s by default): a quarter of the bound keeps a stalled
 * request within 25% of it, and at most a second between checks keeps the sweep cheap.
 */
function receiveLimits(receiveTimeoutMs: number) {
  return {
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: receiveTimeoutMs,
    headersTimeout: receiveTimeoutMs,
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(receiveTimeoutMs / 4))),
  };
}

export interface Listening {
  server: Server;
  url: string;
  /**
   * Drains and closes: resolves once the tracked calls have finished and every connection is gone, or the grace
   * period is over (then what is left is cut).
   */
  stop(graceMs: number): Promise<void>;
}

/** Binds `server` to `port` on `host`; resolves with the `host:port` it listens on (an IPv6 host in brackets). */
export async function bind(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return `${host.includes(':') ? `[${host}]` : host}:${bound}`;
}

export async function listen(app: Koa<never> | Koa<Koa.DefaultState>, options: ListenOptions): Promise<Listening> {
  const callback = (app as Koa).callback();
  const limits = receiveLimits(options.receiveTimeoutMs);
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, ...limits }, callback)
    : createHttpServer(limits, callback);
  server.keepAliveTimeout = 5_000;
  const connections = trackConnections(server, options.tls !== undefined);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
    options.onClientError(err, socket, connections.responseOn(socket)),
  );
  const authority = await bind(server, options.port, options.host);
  return {
    server,
    url: `${options.tls ? 'https' : 'http'}://${authority}`,
    stop: (graceMs) => stop(server, connections, options.lifecycle, graceMs, options.log),
  };
}

/**
 * The drain. Readiness turns 503 and streams are told to end (`lifecycle.drain`); the listener stays open so probes
 * keep getting their 503 (every answer now says `Connection: close`). First the tracked tool calls finish, then
 * the connections close; both within `graceMs` in all. What the grace cuts is logged by call.
 */
async function stop(
  server: Server,
  connections: Connections,
  lifecycle: Lifecycle,
  graceMs: number,
  log: DrainLog,
): Promise<void> {
  const deadline = Date.now() + graceMs;
  lifecycle.drain();
  if (!(await settlesBy(lifecycle.idle(), deadline))) {
    const at = Date.now();
    const cut = lifecycle.inFlight().map(({ since, ...call }) => ({ ...call, runningMs: at - since }));
    log.warn({ cut, graceMs }, 'grace period over: cutting the calls still in flight');
  }
  await connectionsGoneBy(connections, deadline);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/** Whether `promise` settles before `deadline` (epoch ms). */
async function settlesBy(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, deadline - Date.now(), false)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ends each keep-alive connection as soon as it turns idle, until none is left or `deadline` has passed. */
async function connectionsGoneBy(connections: Connections, deadline: number): Promise<void> {
  for (;;) {
    connections.endIdle();
    if (connections.size === 0 || Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(SWEEP_MS, deadline - Date.now())));
  }
}
