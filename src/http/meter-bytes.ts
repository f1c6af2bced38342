/** Counting a response's body bytes: the request log and the HTTP metrics each count with it. */
import type { ServerResponse } from 'node:http';

/** Counts the body bytes written to `res`, whoever writes them (Koa, a stream, the MCP SDK). */
export function meterBytes(res: ServerResponse): () => number {
  let bytes = 0;
  const count = (chunk: unknown, encoding?: unknown): void => {
    if (typeof chunk === 'string')
      bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (chunk instanceof Uint8Array) bytes += chunk.byteLength;
  };
  // Called on `res`, not bound to it: a bound function is two more objects a stream holds for hours.
  const write = res.write as (this: ServerResponse, ...args: unknown[]) => boolean;
  const end = res.end as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  res.write = ((chunk: unknown, ...rest: unknown[]) => (
    count(chunk, rest[0]),
    write.call(res, chunk, ...rest)
  )) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') count(chunk, rest[0]);
    return end.call(res, chunk, ...rest);
  }) as typeof res.end;
  return () => bytes;
}
