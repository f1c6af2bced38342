/**
 * One JSON log line per request, written when the response ends (for a stream, when the stream ends), with the
 * request id, method, path, status, duration, the bytes really sent, the caller's token name and, for tool calls,
 * the tool and the transport, and with tracing on the request's `trace_id` and `span_id`. Headers are not logged
 * at all: a `req` or `res` anywhere in the log is reduced to its method and path or its status (`LOG_SERIALIZERS`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import koaPinoLogger from 'koa-pino-logger';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { clientIp } from './client-ip.js';
import type { RequestState } from './handler.js';
import { meterBytes } from './meter-bytes.js';
import { RequestScope } from './request-scope.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A well-formed `X-Request-Id` from the client, or a new one. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * What a `req` or a `res` becomes in every log line, the request line's and any other (the root logger's
 * serializers): its method and path (no query string), its status. Never a header, raw or parsed, whoever logs it.
 */
export const LOG_SERIALIZERS = {
  req: (req: { method?: unknown; url?: unknown } | null | undefined) => ({
    method: req?.method,
    path: typeof req?.url === 'string' ? req.url.split('?')[0] : undefined,
  }),
  res: (res: { statusCode?: unknown } | null | undefined) => ({ status: res?.statusCode }),
};

/** pino-http hands its callbacks Node's request: this is how they find the request's `ctx.state`. */
type StatefulRequest = IncomingMessage & { state?: RequestState };

/** Records `err` as the cause to log on the request's line (only for a failure the caller is told nothing of). */
export const recordFailure = (res: ServerResponse, err: unknown): void => void ((res as FailedResponse).err = err);

/** An unexpected error the error responder hands to the request's line (pino-http logs it as `err`). */
type FailedResponse = { err?: unknown };

/** The request's own fields of its log line, with pino-http's `res` and `responseTime`, built flat: no spreads. */
function lineOf(req: StatefulRequest, val: { res: unknown; responseTime: number; err?: unknown }) {
  const state = req.state;
  return {
    res: val.res,
    responseTime: val.responseTime,
    err: val.err,
    reqId: req.id,
    ip: state?.ip,
    caller: state?.caller?.name,
    tool: state?.tool,
    transport: state?.transport,
    bytes: state?.bytesSent(),
    trace_id: state?.trace?.trace_id,
    span_id: state?.trace?.span_id,
  };
}

/** koa-pino-logger, then the request's `ctx.state` (request-scope.ts) for handlers and the log line. */
export function requestLog(logger: Logger): Middleware<RequestState> {
  const http = koaPinoLogger({
    logger,
    // pino-http's own serializers copy every header for ours (the root logger's) to throw away.
    wrapSerializers: false,
    genReqId: (req, res) => {
      const id = requestIdOf(req);
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    customSuccessObject: (req, _res, val: { res: unknown; responseTime: number }) => lineOf(req, val),
    // pino-http invents an error with a stack for every 5xx; keep only a real one (set by the error responder).
    customErrorObject: (req, res, _err, val: { res: unknown; responseTime: number; err?: unknown }) =>
      lineOf(req, (res as FailedResponse).err ? val : { res: val.res, responseTime: val.responseTime }),
  });
  return (ctx, next) =>
    (http as Middleware<RequestState>)(ctx, () => {
      ctx.state = new RequestScope(String(ctx.req.id), clientIp(ctx), meterBytes(ctx.res), logger);
      (ctx.req as StatefulRequest).state = ctx.state;
      return next();
    });
}
