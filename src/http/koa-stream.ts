/**
 * Starts a streamed response in a Koa route. The body is a `PassThrough` that Koa pipes into the response once
 * the middleware chain resolves (so the route returns first and writes in the background), keeping Koa's own
 * response handling; `ctx.respond = false` is left to libraries that must own `res`.
 */
import type { ParameterizedContext } from 'koa';
import { PassThrough } from 'node:stream';
import { createStreamWriter, streamHeaders, tuneStreamSocket } from '../streaming/stream-writer.js';
import type { StreamWriter, StreamWriterOptions } from '../streaming/stream-writer.js';

/** Sets status 200 and the stream headers, makes the body a stream, and returns its writer. */
export function openKoaStream(
  ctx: ParameterizedContext,
  contentType: string,
  options: StreamWriterOptions,
): StreamWriter {
  tuneStreamSocket(ctx.req);
  ctx.status = 200;
  ctx.set(streamHeaders(contentType, ctx.req.httpVersionMajor));
  const body = new PassThrough();
  ctx.body = body;
  return createStreamWriter(body, options);
}
