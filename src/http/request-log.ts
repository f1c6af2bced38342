/**
 * One JSON log line per request, written when the response ends (for a stream, when the stream ends), with the
 * request id, method, path, status, duration, the bytes really sent, the caller's token name and, for tool calls,
 * the tool and the transport. Headers are not logged at all; the root logger also redacts by configuration.
 *
 * The line is written by the root logger from one `close` listener: no logger per request. A request's own logger
 * (`ctx.state.log`, bound to its id) is made only when a handler first logs through it, which most never do.
 * (pino-http made a child logger and three response listeners for every request whatever the level: the largest
 * fixed cost of a small request.)
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import type { Level, Logger } from 'pino';
import { clientIp } from './client-ip.js';
import type { AppContext, RequestState } from './handler.js';
import { meterBytes } from './meter-bytes.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A well-formed `X-Request-Id` from the client, or a new one. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** An unexpected error the error responder hands to the request's line (the cause of a 500). */
type FailedResponse = ServerResponse & { err?: unknown };

/** Records `err` as the cause to log on the request's line (only for a failure the caller is told nothing of). */
export const recordFailure = (res: ServerResponse, err: unknown): void => void ((res as FailedResponse).err = err);

/** The root logger, and the same without redaction for lines of known fields only. */
interface Loggers {
  root: Logger;
  known: Logger;
}

/** `info` for 2xx/3xx, `warn` for 4xx, `error` for 5xx or a failure. */
const levelOf = (status: number, failed: boolean): Level =>
  failed || status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';

/** The message pino-http wrote, kept so log queries keep working. */
function messageOf(req: IncomingMessage, res: ServerResponse, level: Level): string {
  if (level === 'error') return 'request errored';
  return !req.readableAborted && res.writableEnded ? 'request completed' : 'request aborted';
}

/**
 * The request's line without a failure is made of known fields only (no headers, no body, nothing a client named
 * but its validated request id and path), so it skips the root logger's redaction, a third of a small request's
 * cost of logging. A line with a failure carries an arbitrary error and goes through `logger`, redaction and all.
 */
const unredacted = (logger: Logger): Logger => logger.child({}, { redact: { paths: [] } });

/** Writes the request's line once its response is done or its client gone. */
function logOnClose(loggers: Loggers, ctx: AppContext, requestId: string, path: string): void {
  const started = Date.now();
  const { req, res } = ctx;
  // `on`, not `once`: `close` comes once, and a `once` wrapper is two more objects a stream holds for hours.
  res.on('close', () => {
    const { err } = res as FailedResponse;
    const status = res.statusCode;
    const level = levelOf(status, err !== undefined);
    const logger = err === undefined ? loggers.known : loggers.root;
    if (!logger.isLevelEnabled(level)) return;
    const { ip, caller, tool, transport, bytesSent } = ctx.state;
    const line = {
      reqId: requestId,
      req: { method: req.method, path },
      res: { status },
      ...(err === undefined ? {} : { err }),
      responseTime: Date.now() - started,
      ip,
      caller: caller?.name,
      tool,
      transport,
      bytes: bytesSent(),
    };
    logger[level](line, messageOf(req, res, level));
  });
}

/**
 * The prototype of every request's state: its `log` getter makes the request's logger on first use and keeps it.
 * On the prototype, not each state, so a state stays a plain fast object (a stream holds its state for hours).
 */
function statePrototype(logger: Logger): object {
  const made = new WeakMap<object, Logger>();
  return {
    get log(): Logger {
      const state = this as RequestState;
      let log = made.get(state);
      if (!log) made.set(state, (log = logger.child({ reqId: state.requestId })));
      return log;
    },
  };
}

/** Fills `ctx.state` (request id, request logger, address, byte meter) and writes the request's log line. */
export function requestLog(logger: Logger): Middleware<RequestState> {
  const loggers = { root: logger, known: unredacted(logger) };
  const prototype = statePrototype(logger);
  return (ctx, next) => {
    const requestId = requestIdOf(ctx.req);
    ctx.res.setHeader('X-Request-Id', requestId);
    const state = Object.create(prototype) as RequestState;
    ctx.state = state;
    state.requestId = requestId;
    state.ip = clientIp(ctx);
    state.bytesSent = meterBytes(ctx.res);
    logOnClose(loggers, ctx, requestId, ctx.path);
    return next();
  };
}
