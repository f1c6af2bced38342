/**
 * Starts a streamed response in a Koa route. The writer writes to Node's response itself (`ctx.respond = false`)
 * rather than to a body stream that Koa pipes into it: a stream may stay open for hours, and a piped body holds a
 * `PassThrough` and the pipeline's listeners on both streams for all that time (they were a third of what each
 * idle `/v1/events` stream cost). Everything before the first frame is Koa's as usual: the status, the headers
 * set so far (request id, CORS, rate-limit headers), and the error responder for whatever is thrown first.
 */
import type { RouterContext } from '@koa/router';
import { createStreamWriter, dropSentHeaders, streamHeaders, tuneStreamSocket } from '../streaming/stream-writer.js';
import type { StreamWriter, StreamWriterOptions } from '../streaming/stream-writer.js';
import type { AppContext } from './handler.js';

/** Sends status 200 and the stream headers at once, and returns a writer on the response. */
export function openKoaStream(ctx: AppContext, contentType: string, options: StreamWriterOptions): StreamWriter {
  tuneStreamSocket(ctx.req);
  ctx.status = 200;
  ctx.set(streamHeaders(contentType, ctx.req.httpVersionMajor));
  ctx.respond = false;
  ctx.res.flushHeaders();
  dropSentHeaders(ctx.res);
  releaseLeftovers(ctx);
  releaseKoaFinish(ctx.res);
  return createStreamWriter(ctx.res, options);
}

/** `on-finished`'s per-response listener, whose `queue` holds the callbacks waiting for the response to end. */
type FinishListener = { queue?: unknown[] | null };

/**
 * Lets go of Koa's own wait for the response to end: Koa queues it (with `on-finished`, on
 * `res.__onFinished.queue`) before any middleware runs, and its callback holds the whole context (context, request,
 * response, state: a sixth of what an idle stream held) only to hand an error of the socket to the app's `error`
 * event. A stream has its own `close` hooks for every way it ends, and the app's listener drops the errors a
 * socket has when a client goes away. Only when Koa's is the one callback queued: any other still waits.
 */
function releaseKoaFinish(res: AppContext['res']): void {
  const listener = (res as { __onFinished?: FinishListener | null }).__onFinished;
  if (listener?.queue?.length === 1) listener.queue = null;
}

/**
 * Drops what routing, authentication and the rate limits left on the context that nothing reads once the headers
 * are out: Koa's own `on-finished` listener holds the context until the response ends, hours on for an idle stream.
 * The router reads `matched` again only for a 404 (`allowedMethods`), the OAuth challenge reads `oauth` only for a
 * 401/403 not yet sent, and the request's line and metrics read the caller, not its credentials or rate key.
 */
function releaseLeftovers(ctx: AppContext & Partial<Pick<RouterContext, 'matched' | 'captures'>>): void {
  // Koa's parse of the URL (`ctx.path`), which `parseurl` caches on the request and makes again when asked.
  (ctx.req as { _parsedUrl?: unknown })._parsedUrl = undefined;
  ctx.matched = undefined;
  ctx.captures = undefined;
  ctx.state.credentials = undefined;
  ctx.state.oauth = undefined;
  ctx.state.rateKey = undefined;
}
