/**
 * How a long-lived stream route tells a client to come back: `EventSource` reconnects after a stream that ends
 * (waiting `retry:` ms, sending its `Last-Event-ID`) but gives up for good on an error status. So where a stream
 * cannot be served for a while, it is answered 200 with `retry:` and one `unavailable` event, then ended: no
 * data, and the browser keeps following the feed once it can be served again.
 */
import type { UnavailableEvent } from '../../generated/types.gen.js';
import { formatSseEvent } from '../streaming/sse.js';
import { streamHeaders } from '../streaming/stream-writer.js';
import type { AppContext } from './handler.js';

/** The reconnection delay every stream tells its client (`retry:`), in ms. */
export const RETRY_MS = 3000;

/**
 * Answers the stream request with `retry:` and an `unavailable` event (no `id:`, so the client keeps its
 * `Last-Event-ID`), then ends it.
 */
export function answerComeBackLater(ctx: AppContext): void {
  ctx.status = 200;
  ctx.set(streamHeaders('text/event-stream', ctx.req.httpVersionMajor));
  const unavailable: UnavailableEvent = { type: 'unavailable', at: new Date().toISOString() };
  ctx.body =
    formatSseEvent({ retry: RETRY_MS }) + formatSseEvent({ event: 'unavailable', data: JSON.stringify(unavailable) });
}
