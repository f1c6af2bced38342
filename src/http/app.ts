/**
 * The Koa application: the order of its middleware, and nothing else. Every part is built by the composition root
 * (src/compose.ts) and handed in, so tests and several instances can build as many apps as they need.
 */
import type Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import type { RequestState } from './handler.js';

export interface AppParts {
  /** `TRUST_PROXY`: how many proxies in front append `X-Forwarded-For` (0: trust no header). */
  trustProxy: number;
  /** Where an unhandled application error is logged. */
  logger: Logger;
  /** The request's id, logger and one log line (request-log.ts). */
  requestLog: Middleware<RequestState>;
  /** HTTP request metrics, beside the request's log line (http-metrics.ts), when they are exposed. */
  httpMetrics?: Middleware<RequestState> | undefined;
  /** The server span of each request, when tracing is on (http-tracing.ts). */
  httpTracing?: Middleware<RequestState>;
  cors: Middleware<RequestState>;
  /** Every error as problem+json (error-responder.ts). */
  errorResponder: Middleware<RequestState>;
  /** Refuses new requests while the server drains (drain-gate.ts). */
  drainGate: Middleware<RequestState>;
  /** Refuses pages from foreign origins (origin-check.ts). */
  originCheck: Middleware<RequestState>;
  /** With `OAUTH_ISSUER`: the token verifier (oauth-bearer.ts); its challenge is the error responder's. */
  oauth?: { verify: Middleware<RequestState> } | undefined;
  /** The request rate limits (rate-limit.ts). */
  rateLimit: Middleware<RequestState>;
  /** Every operation of the contract (router.ts). */
  router: Router<RequestState>;
}

export function createApp(parts: AppParts): Koa<RequestState> {
  const app = new Koa<RequestState>({ proxy: parts.trustProxy > 0, maxIpsCount: parts.trustProxy });
  // A client that goes away mid-stream is normal life for a streaming server, not an error worth a stack trace.
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
    parts.logger.error({ err }, 'unhandled application error');
  });

  app.use(parts.requestLog);
  if (parts.httpTracing) app.use(parts.httpTracing);
  if (parts.httpMetrics) app.use(parts.httpMetrics);
  app.use(parts.cors);
  app.use(parts.errorResponder);
  // The feed ends itself on a drain (see routes/events.ts), which EventSource survives where it would not a 503.
  app.use(parts.drainGate);
  // A foreign page's request is refused before it counts against anything (rate limits, stream caps).
  app.use(parts.originCheck);
  // Before the limiter, which keys a request on its caller: for an OAuth token, the subject verified here.
  if (parts.oauth) app.use(parts.oauth.verify);
  // Before any route's work (auth, body, handler), so a flood is turned away cheaply; after CORS and the error
  // responder, so a browser can read the 429 problem.
  app.use(parts.rateLimit);
  app.use(parts.router.routes());
  app.use(parts.router.allowedMethods());
  return app;
}
