/**
 * `GET /metrics` on a listener of its own (`METRICS_HOST`:`METRICS_PORT`), apart from the API: the API may face
 * the internet, the metrics should not, and a separate socket cannot be exposed with the API by a proxy rule or a
 * firewall opening made for it. Plain HTTP from `node:http`: this is not the API (no contract, no Koa), and a
 * scraper on loopback or a private network needs no TLS. With `METRICS_TOKEN`, a scrape needs
 * `Authorization: Bearer <token>`, compared in constant time.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { bearerToken } from '../auth/bearer-token.js';
import { bind } from '../http/server.js';
import { createTokenStore } from '../http/tokens.js';
import type { Logger } from 'pino';
import type { MetricsConfig } from '../config/index.js';
import type { Exposition } from './metrics.js';

export interface MetricsListenerOptions {
  host: string;
  /** 0 picks a free port (see `url`). */
  port: number;
  /** When set, a scrape must present it as a bearer token. */
  token?: string | undefined;
  /** The exposition to serve. */
  expose(): Promise<Exposition>;
  /** Told when collecting failed (the scrape gets a bare 500). */
  onError(err: unknown): void;
}

export interface MetricsListener {
  /** `http://host:port`, with the port really bound. */
  url: string;
  /** Closes the listener and every connection to it. */
  stop(): Promise<void>;
}

export const METRICS_PATH = '/metrics';

/**
 * Starts the listener; resolves once it is bound.
 *
 * @example
 * const listener = await startMetricsListener({ host: '127.0.0.1', port: 9464, expose: metrics.expose, onError });
 */
export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const allowed =
    options.token === undefined ? undefined : createTokenStore([{ name: 'scraper', token: options.token }]);
  const authorized = (req: IncomingMessage): boolean => {
    if (!allowed) return true;
    const token = bearerToken(req.headers.authorization ?? '');
    return token !== undefined && allowed.identify(token) !== undefined;
  };
  const server = createServer((req, res) => void answer(req, res, authorized, options));
  const authority = await bind(server, options.port, options.host);
  return {
    url: `http://${authority}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  authorized: (req: IncomingMessage) => boolean,
  { expose, onError }: MetricsListenerOptions,
): Promise<void> {
  // Refused before anything else, so a scraper without the token learns nothing, not even which paths exist.
  if (!authorized(req)) return plain(res, 401, 'A bearer token is required.', { 'WWW-Authenticate': 'Bearer' });
  if ((req.url ?? '').split('?')[0] !== METRICS_PATH) return plain(res, 404, 'Not found.');
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'GET only.', { Allow: 'GET, HEAD' });
  try {
    const { contentType, body } = await expose();
    res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (err) {
    onError(err);
    plain(res, 500, 'Collecting the metrics failed.');
  }
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

/**
 * The listener `METRICS_PORT` asks for (`settings`), or none, serving `expose` and logging where it listens;
 * `workers`: it serves every worker's metrics (WORKERS), from the primary.
 */
export async function serveMetrics(
  settings: MetricsConfig | undefined,
  expose: () => Promise<Exposition>,
  logger: Logger,
  { workers = false }: { workers?: boolean } = {},
): Promise<MetricsListener | undefined> {
  if (!settings) return undefined;
  const { host, port, token } = settings;
  const what = workers ? "the workers' metrics" : 'metrics';
  const onError = (err: unknown): void => logger.error({ err }, `collecting ${what} failed`);
  const listener = await startMetricsListener({ host, port, token, expose, onError });
  const listening = workers ? 'metrics listening, for all workers' : 'metrics listening';
  logger.info({ url: listener.url, tokenRequired: token !== undefined }, listening);
  return listener;
}
