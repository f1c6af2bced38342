/**
 * The HTTP edge's metrics, from one middleware placed beside the request log: every request's duration and body
 * bytes (recorded when the response closes, so a stream counts until it ends), and each 401/403 by the problem's
 * code and the credential the request presented.
 */
import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import type { ErrorCode } from '../../generated/types.gen.js';
import { onClose } from '../streaming/close-hooks.js';
import { instant, secondsSince, type Credential, type Metrics } from '../metrics/index.js';
import type { AppContext, RequestState } from './handler.js';
import { routeTemplate } from './route-template.js';
import { SESSION_COOKIE } from './session-cookie.js';

/**
 * Builds the middleware; mount it right after the request log (whose byte meter it reads), so it sees every request and the final
 * status.
 *
 * @example
 * app.use(httpMetrics(metrics));
 */
export function httpMetrics(metrics: Pick<Metrics, 'httpRequest' | 'authRefused'>): Middleware<RequestState> {
  return async (ctx, next) => {
    recordOnClose(metrics, ctx.res, routeTemplate(ctx.path), ctx.method, ctx.state.bytesSent);
    await next();
    const refusal = authRefusalOf(ctx);
    if (refusal) metrics.authRefused(refusal);
  };
}

/**
 * Records the request when `res` closes: once, when the response is done or the client is gone, however it was
 * written. Out here, so the hook holds the response and not the Koa context, and a start instant rather than a
 * stopwatch: a stream keeps its hook for hours.
 */
function recordOnClose(
  metrics: Pick<Metrics, 'httpRequest'>,
  res: ServerResponse,
  route: string,
  method: string,
  bytesSent: () => number,
): void {
  const start = instant();
  onClose(res, () =>
    metrics.httpRequest({ route, method, status: res.statusCode, seconds: secondsSince(start), bytes: bytesSent() }),
  );
}

/** A 401/403 problem (set by the error responder) as a refusal record; nothing of the credential but its kind. */
function authRefusalOf(ctx: AppContext): Parameters<Metrics['authRefused']>[0] | undefined {
  const status = ctx.status;
  const code = (ctx.body as { code?: unknown } | null | undefined)?.code;
  if ((status !== 401 && status !== 403) || typeof code !== 'string') return undefined;
  return { status, code: code as ErrorCode, credential: credentialOf(ctx), caller: ctx.state.caller?.name };
}

const credentialOf = (ctx: AppContext): Credential =>
  ctx.get('Authorization') ? 'bearer' : ctx.cookies.get(SESSION_COOKIE) !== undefined ? 'cookie' : 'none';
