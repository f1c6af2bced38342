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

// Node's `write` and `end` take at most (chunk, encoding, callback) and read an argument passed as undefined as one
// left out: forwarding exactly three spares every call a rest array and a spread.
function meteredWrite(this: Metered, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  const meter = this[METER];
  meter.bytes += byteLength(chunk, encoding);
  return meter.write.call(this, chunk, encoding, callback);
}

function meteredEnd(this: Metered, chunk?: unknown, encoding?: unknown, callback?: unknown): ServerResponse {
  const meter = this[METER];
  if (typeof chunk !== 'function') meter.bytes += byteLength(chunk, encoding);
  return meter.end.call(this, chunk, encoding, callback);
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}
