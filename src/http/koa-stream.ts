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
  endKoaWait(ctx.res);
  return createStreamWriter(ctx.res, options);
}

/** `on-finished`'s per-response listener, whose `queue` holds the callbacks waiting for the response to end. */
type FinishListener = { queue?: unknown[] | null };

/**
 * Ends Koa's own wait for the response to end. Koa waits (with `on-finished`) from before any middleware runs,
 * with listeners on the response and its socket, and a callback that holds the whole context (context, request,
 * response, state) only to hand an error of the socket to the app's `error` event: together a third of what an
 * idle stream held beyond bare node's. A stream has its own `close` hooks for every way it ends, and the app's
 * listener drops the errors a socket has when a client goes away. `on-finished` takes a message's first `end` or
 * `finish` for its end (`end`, as it also waits on requests); a response emits no `end` of its own, so one emitted
 * here ends the wait: Koa's callback runs without an error (and does nothing), and every listener it put on the
 * response and the socket comes off. Only when Koa's is the one callback waiting and nothing else listens for
 * `end`: any other waits for the real end.
 */
function endKoaWait(res: AppContext['res']): void {
  const listener = (res as { __onFinished?: FinishListener | null }).__onFinished;
  if (listener?.queue?.length === 1 && res.listenerCount('end') === 1) res.emit('end');
}

/**
 * Drops what routing, authentication and the rate limits left on the context that nothing reads once the headers
 * are out: the request's state lives as long as the stream (the request log reads it at the end), and so does the
 * context where something still holds it (Koa's wait, when it cannot be ended here; the span's close hook).
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
