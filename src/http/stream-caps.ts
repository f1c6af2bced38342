/**
 * Caps on open streams. A rate window counts requests, not how long they hold the server: a client could keep
 * thousands of SSE streams open within any request budget. So each client (IP plus token name) may hold
 * `perClient` streams and the instance `total`; past either cap the next stream is refused with ERATELIMIT (429)
 * before its body is read. A slot is released exactly once, when the response closes, however it ends.
 */
import type { Middleware } from 'koa';
import type { OperationId } from '../../generated/operations.gen.js';
import { TaskError } from '../errors.js';
import { clientKey } from './client-ip.js';
import type { AppContext, RequestState } from './handler.js';

export interface StreamCapsOptions {
  perClient: number;
  total: number;
}

export interface StreamCaps {
  /** The gate of an operation that can stream (placed after authentication), or undefined. */
  gate(id: OperationId): Middleware<RequestState> | undefined;
  /** Streams open now. */
  open(): number;
}

/**
 * Which requests get a stream. An invoke streams unless JSON is its best `Accept` match (the route's own order
 * of preference). A `/mcp` reply is SSE or JSON as the SDK decides after reading the body, so every exchange
 * that accepts SSE holds a slot while it lasts: JSON replies hold theirs only for the call.
 */
const STREAMING: Partial<Record<OperationId, (ctx: AppContext) => boolean>> = {
  getEvents: () => true,
  getLegacySse: () => true,
  invokeTool: (ctx) =>
    ctx.accepts('application/json', 'text/event-stream', 'application/x-ndjson') !== 'application/json',
  postMcp: (ctx) => ctx.get('Accept').includes('text/event-stream'),
};

/** Whether this request of operation `id` will be answered with a stream. */
export const isStreamRequest = (id: OperationId, ctx: AppContext): boolean => STREAMING[id]?.(ctx) ?? false;

/** A stream holds its slot this long after a refusal, as far as the client can tell: a hint, not a promise. */
const RETRY_AFTER_SECONDS = 5;

export function createStreamCaps({ perClient, total }: StreamCapsOptions): StreamCaps {
  if (!(perClient >= 1 && total >= 1)) throw new Error(`stream caps must be at least 1, got ${perClient}/${total}`);
  const perKey = new Map<string, number>();
  let open = 0;

  /** Takes a slot for `key`; the function that gives it back (idempotent), or undefined when full. */
  function acquire(key: string): (() => void) | undefined {
    const mine = perKey.get(key) ?? 0;
    if (mine >= perClient || open >= total) return undefined;
    perKey.set(key, mine + 1);
    open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      open -= 1;
      const left = perKey.get(key)! - 1;
      if (left === 0) perKey.delete(key);
      else perKey.set(key, left);
    };
  }

  const gate = (id: OperationId): Middleware<RequestState> => {
    return (ctx, next) => {
      if (!isStreamRequest(id, ctx)) return next();
      const release = acquire(clientKey(ctx.state.ip, ctx.state.caller?.name));
      if (release === undefined) {
        ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
        throw new TaskError('ERATELIMIT', 'Too many open streams; close one first.', {
          hint: `Each client may hold ${perClient} open streams.`,
          details: { retryAfter: RETRY_AFTER_SECONDS, streams: perClient },
        });
      }
      // `close` fires once the response is done or the client is gone; it may already have fired.
      if (ctx.res.closed) release();
      else ctx.res.once('close', release);
      return next();
    };
  };

  return {
    gate: (id) => (id in STREAMING ? gate(id) : undefined),
    open: () => open,
  };
}
