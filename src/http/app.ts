/**
 * The Koa application, built from explicit dependencies: no module-level state, so tests and several instances
 * can build as many as they need.
 */
import cors from '@koa/cors';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { ChangeService } from '../changes/types.js';
import type { Config } from '../config.js';
import { operations } from '../../generated/operations.gen.js';
import type { Contract } from '../contract/index.js';
import type { EventFeed } from '../events/feed.js';
import type { Lifecycle } from '../lifecycle.js';
import { createMcpRoutes } from '../mcp/index.js';
import { trackCalls } from '../tracked-calls.js';
import type { Metrics } from '../metrics/index.js';
import { createIdentify } from './auth.js';
import { drainGate } from './drain-gate.js';
import { errorResponder } from './error-responder.js';
import type { Handlers, RequestState } from './handler.js';
import { httpMetrics } from './http-metrics.js';
import { deadline } from './limits.js';
import { originCheck } from './origin-check.js';
import { createOAuthBearer } from './oauth-bearer.js';
import { createRateLimiter } from './rate-limit.js';
import { requestLog } from './request-log.js';
import { createRouter } from './router.js';
import { eventsRoutes } from './routes/events.js';
import { invokeRoutes, repliesAsStream } from './routes/invoke.js';
import { opsHandlers, readinessOf, type ReadinessCheck } from './routes/ops.js';
import { protectedResourceRoutes } from './routes/protected-resource.js';
import { sessionRoutes } from './routes/session.js';
import { createSessionCookies, type SessionClaims } from './session-cookie.js';
import { createSessionRevocations } from './session-revocations.js';
import { createSessionStreams } from './session-streams.js';
import { createStreamCaps } from './stream-caps.js';
import { createTokenStore } from './tokens.js';

export interface AppDeps {
  contract: Contract;
  service: ChangeService;
  /** The domain's event sink, read by `/v1/events`. */
  feed: EventFeed;
  /** Readiness checks of parts built outside the app (the event bus). */
  checks?: Record<string, ReadinessCheck>;
  logger: Logger;
  lifecycle: Lifecycle;
  version: string;
  /** The server's metrics, served on their own listener by the composition root. */
  metrics: Metrics;
}

/** Headers a browser script may read from our responses. */
const EXPOSED_HEADERS = [
  'X-Request-Id',
  'Retry-After',
  // A browser-based MCP client finds the OAuth metadata through the 401's challenge.
  'WWW-Authenticate',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
];
/** Probes: never rate limited, and still answered during a drain. */
const PROBES = ['/healthz', '/readyz'];
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Last-Event-ID',
  'X-Request-Id',
  'MCP-Protocol-Version',
  'Mcp-Method',
  'Mcp-Name',
];

export function createApp(config: Config, deps: AppDeps): Koa<RequestState> {
  const app = new Koa<RequestState>({ proxy: config.trustProxy > 0, maxIpsCount: config.trustProxy });
  // A client that goes away mid-stream is normal life for a streaming server, not an error worth a stack trace.
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
    deps.logger.error({ err }, 'unhandled application error');
  });

  const { contract, feed, lifecycle } = deps;
  const service = trackCalls(deps.service, lifecycle);
  const streams = { heartbeatMs: config.heartbeatMs, maxBufferedBytes: config.streamMaxBufferedBytes };
  const cookies = createSessionCookies({
    secret: config.cookieSecret,
    ttlSeconds: config.sessionTtlSeconds,
    crossSite: config.corsOrigins.length > 0,
  });
  const mcp = createMcpRoutes({
    service,
    contract,
    version: deps.version,
    ...streams,
    bindHost: config.host,
    toolNames: config.mcpToolNames,
    callTimeoutMs: config.requestTimeoutMs,
    logger: deps.logger,
  });
  // HTTP+SSE sessions and /mcp exchanges may carry a call's reply: end them once no call is left.
  lifecycle.onDrain(() => {
    const closing = lifecycle.idle().then(() => mcp.closeAll());
    closing.catch((err: unknown) => deps.logger.warn({ err }, 'closing the MCP transports failed'));
  });
  const tokens = createTokenStore(config.tokens);
  // A signed cookie outlives nothing: not its expiry, not the removal of its token from TASK_MCP_TOKENS, and not
  // its sign-out (asked of `revocations` when the cookie is the credential used).
  const verifySession = (value: string): SessionClaims | undefined => {
    const claims = cookies.verify(value, new Date());
    return claims && tokens.knows(claims.name) ? claims : undefined;
  };
  const oauth = config.oauth && createOAuthBearer(config.oauth, tokens);
  const identify = createIdentify(tokens, verifySession, oauth?.subjectOf);
  const revocations = createSessionRevocations({ redisUrl: config.redisUrl, logger: deps.logger });
  lifecycle.onDrain(() => revocations.close());
  const sessionStreams = createSessionStreams();
  const limiter = createRateLimiter({
    burst: config.rateLimitBurst,
    sustained: config.rateLimitSustained,
    redisUrl: config.redisUrl,
    identify,
    logger: deps.logger,
    exempt: PROBES,
    onRefusal: (window, caller) => deps.metrics.rateLimited({ window, caller }),
  });
  lifecycle.onDrain(() => limiter.close());
  const streamCaps = createStreamCaps({
    streams: { perClient: config.maxStreamsPerClient, total: config.maxStreams },
    calls: { perClient: config.maxCallsPerClient, total: config.maxCalls },
  });
  const jsonCallDeadline = deadline(config.requestTimeoutMs, (ctx) => !repliesAsStream(ctx));

  const checks: Record<string, ReadinessCheck> = {
    repo: () => service.check().then(() => 'ok'),
    writable: () => service.checkWritable().then(() => 'ok'),
    ...limiter.checks,
    ...revocations.checks,
    ...oauth?.checks,
    ...deps.checks,
  };
  deps.metrics.watchReadiness(() => readinessOf(checks, lifecycle));

  const handlers: Handlers = {
    ...opsHandlers({ contract, lifecycle, checks }),
    ...invokeRoutes({ service, contract, ...streams }),
    ...eventsRoutes({ feed, lifecycle, ...streams }),
    ...sessionRoutes({ cookies, identify, revocations, streams: sessionStreams }),
    ...protectedResourceRoutes(oauth?.resource),
    ...mcp.handlers,
  };
  const router = createRouter({
    contract,
    handlers,
    identify,
    isRevoked: revocations.isRevoked,
    maxBodyBytes: config.maxBodyBytes,
    guards: (id) =>
      [streamCaps.gate(id), sessionStreams.gate(id), id === 'invokeTool' ? jsonCallDeadline : undefined].filter(
        (g) => g !== undefined,
      ),
  });

  app.use(requestLog(deps.logger));
  app.use(httpMetrics(deps.metrics));
  app.use(corsAllowlist(config.corsOrigins));
  if (oauth) app.use(oauth.challenge);
  app.use(errorResponder(contract.errorMap));
  // The feed ends itself on a drain (see routes/events.ts), which EventSource survives where it would not a 503.
  app.use(drainGate(lifecycle, [...PROBES, operations.getEvents.path]));
  // A foreign page's request is refused before it counts against anything (rate limits, stream caps).
  app.use(originCheck(config.corsOrigins));
  // Before the limiter, which keys a request on its caller: for an OAuth token, the subject verified here.
  if (oauth) app.use(oauth.verify);
  // Before any route's work (auth, body, handler), so a flood is turned away cheaply; after CORS and the error
  // responder, so a browser can read the 429 problem.
  app.use(limiter.middleware);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/** CORS for the listed origins only; @koa/cors alone would reflect any origin once credentials are allowed. */
function corsAllowlist(origins: readonly string[]): Koa.Middleware<RequestState> {
  const allowed = new Set(origins);
  return cors({
    origin: (ctx) => (allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    credentials: true,
    exposeHeaders: EXPOSED_HEADERS,
    allowHeaders: ALLOWED_HEADERS,
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    maxAge: 600,
  }) as Koa.Middleware<RequestState>;
}
