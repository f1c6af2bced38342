/** Counting a response's body bytes: the request log and the HTTP metrics each count with it. */
import type { ServerResponse } from 'node:http';

type Write = (this: ServerResponse, ...args: unknown[]) => boolean;
type End = (this: ServerResponse, ...args: unknown[]) => ServerResponse;

/** Where a metered response keeps its count and its own `write` and `end`. */
const METER = Symbol('bytesMeter');

/** One response's count; the response's methods it replaced. */
class Meter {
  bytes = 0;
  constructor(
    readonly write: Write,
    readonly end: End,
  ) {}
}

type Metered = ServerResponse & { [METER]: Meter };

/**
 * Counts the body bytes written to `res`, whoever writes them (Koa, a stream, the MCP SDK). The replacements of
 * `write` and `end` are shared by every response and find its count on the response they are called on: a
 * closure of each per response, and the context they share, are objects a stream would hold for hours.
 */
export function meterBytes(res: ServerResponse): () => number {
  const meter = new Meter(res.write as Write, res.end as End);
  (res as Metered)[METER] = meter;
  res.write = meteredWrite as typeof res.write;
  res.end = meteredEnd as typeof res.end;
  return () => meter.bytes;
}

function meteredWrite(this: Metered, chunk: unknown, ...rest: unknown[]): boolean {
  const meter = this[METER];
  meter.bytes += byteLength(chunk, rest[0]);
  return meter.write.call(this, chunk, ...rest);
}

function meteredEnd(this: Metered, chunk?: unknown, ...rest: unknown[]): ServerResponse {
  const meter = this[METER];
  if (typeof chunk !== 'function') meter.bytes += byteLength(chunk, rest[0]);
  return meter.end.call(this, chunk, ...rest);
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}
