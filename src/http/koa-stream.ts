/**
 * Starts a streamed response in a Koa route. The writer writes to Node's response itself (`ctx.respond = false`)
 * rather than to a body stream that Koa pipes into it: a stream may stay open for hours, and a piped body holds a
 * `PassThrough` and the pipeline's listeners on both streams for all that time (they were a third of what each
 * idle `/v1/events` stream cost). Everything before the first frame is Koa's as usual: the status, the headers
 * set so far (request id, CORS, rate-limit headers), and the error responder for whatever is thrown first.
 */
import type { ParameterizedContext } from 'koa';
import { createStreamWriter, streamHeaders, tuneStreamSocket } from '../streaming/stream-writer.js';
import type { StreamWriter, StreamWriterOptions } from '../streaming/stream-writer.js';

/** Sends status 200 and the stream headers at once, and returns a writer on the response. */
export function openKoaStream(
  ctx: ParameterizedContext,
  contentType: string,
  options: StreamWriterOptions,
): StreamWriter {
  tuneStreamSocket(ctx.req);
  ctx.status = 200;
  ctx.set(streamHeaders(contentType, ctx.req.httpVersionMajor));
  ctx.respond = false;
  ctx.res.flushHeaders();
  return createStreamWriter(ctx.res, options);
}
