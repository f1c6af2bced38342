/**
 * `GET /v1/events`: the change feed for `EventSource`. Each event's `event:` is its type, `id:` its feed id,
 * `data:` its JSON; `Last-Event-ID` (sent by `EventSource` when it reconnects) replays what the client missed.
 */
import type { EventFeed, FeedEntry } from '../../events/feed.js';
import type { Lifecycle } from '../../lifecycle.js';
import type { StreamKind } from '../../metrics/index.js';
import type { StreamProbe, StreamWriter } from '../../streaming/stream-writer.js';
import { openKoaStream } from '../koa-stream.js';
import { RETRY_MS } from '../stream-retry.js';
import { SSE_PING, formatSseComment, formatSseEvent } from '../../streaming/sse.js';
import { HANDLED } from '../handler.js';
import type { Handler } from '../handler.js';

export interface EventsDeps {
  feed: EventFeed;
  heartbeatMs: number;
  /** Unsent bytes past which a slow reader is cut off (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Reconnection delay told to the client. Default `RETRY_MS`. */
  retryMs?: number;
  /** When the server drains, each stream gets a last comment and ends; `EventSource` reconnects elsewhere. */
  lifecycle?: Pick<Lifecycle, 'onDrain'>;
  /** The probe of each stream (`events`): open, heartbeats, slow readers. */
  probes?: (kind: StreamKind) => StreamProbe;
}

/** The `getEvents` handler. */
export function eventsHandlers(deps: EventsDeps): { getEvents: Handler<'getEvents'> } {
  const { feed, heartbeatMs, maxBufferedBytes, retryMs = RETRY_MS, lifecycle, probes } = deps;
  const probe = probes?.('events');

  const getEvents: Handler<'getEvents'> = async (ctx) => {
    ctx.state.transport = 'events';
    // What to undo when the stream ends (the feed subscription, the drain registration), each set once it exists.
    let unsubscribe: (() => void) | undefined;
    let undrain: (() => void) | undefined;
    const release = (): void => {
      unsubscribe?.();
      undrain?.();
      unsubscribe = undrain = undefined;
    };
    const writer = openKoaStream(ctx, 'text/event-stream', {
      heartbeatMs,
      heartbeat: ping,
      maxBufferedBytes,
      log: ctx.state.log,
      probe,
      onClose: release,
    });
    writer.send(formatSseEvent({ retry: retryMs }));
    const lastEventId = ctx.get('Last-Event-ID') || undefined;
    // The request's own line comes when the stream ends, maybe hours on: say now which instance holds it, and
    // from where it resumes (an id from another instance, after a failover).
    ctx.state.log.info({ lastEventId }, 'event stream opened');
    unsubscribe = feed.subscribe(lastEventId, (entry) => onEntry(writer, entry));
    if (lifecycle) undrain = lifecycle.onDrain(() => finish(writer));
    // The replay alone can overflow a slow reader, closing the stream before there was anything to release.
    if (writer.closed) release();
    return HANDLED;
  };

  return { getEvents };
}

const SHUTDOWN = formatSseComment('server shutting down');

/** The heartbeat frame; out here, so a stream holds no closure of its own for it. */
const ping = (): string => SSE_PING;

/**
 * One feed entry onto a stream. An `unavailable` one (the bus is gone) also ends it, so `EventSource` reconnects
 * with this entry's id once the bus is back. Out here, so a stream's listener holds its writer and nothing else of
 * the request (its Koa context stays out of the closure).
 */
function onEntry(writer: StreamWriter, entry: FeedEntry): void {
  writer.send(formatFeedEntry(entry));
  if (entry.event.type === 'unavailable') writer.close();
}

/** The last comment of a stream when the server drains. */
function finish(writer: StreamWriter): void {
  writer.send(SHUTDOWN);
  writer.close();
}

/** One feed event as SSE. */
export const formatFeedEntry = (entry: FeedEntry): string =>
  formatSseEvent({ event: entry.event.type, id: entry.id, data: JSON.stringify(entry.event) });
