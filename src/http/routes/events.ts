/**
 * `GET /v1/events`: the change feed for `EventSource`. Each event's `event:` is its type, `id:` its feed id,
 * `data:` its JSON; `Last-Event-ID` (sent by `EventSource` when it reconnects) replays what the client missed.
 */
import type { EventFeed, FeedEntry } from '../../events/feed.js';
import type { Lifecycle } from '../../lifecycle.js';
import type { StreamKind } from '../../metrics/index.js';
import type { StreamProbe } from '../../streaming/stream-writer.js';
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
    // What to undo when the stream ends: the feed subscription, the drain registration.
    const releases: Array<() => unknown> = [];
    const release = (): void => releases.splice(0).forEach((fn) => fn());
    const writer = openKoaStream(ctx, 'text/event-stream', {
      heartbeatMs,
      heartbeat: () => SSE_PING,
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
    const onEntry = (entry: FeedEntry): void => {
      writer.send(formatFeedEntry(entry));
      // The bus is gone: end the stream so `EventSource` reconnects with this entry's id once it is back.
      if (entry.event.type === 'unavailable') writer.close();
    };
    releases.push(feed.subscribe(lastEventId, onEntry));
    const finish = (): void => {
      writer.send(SHUTDOWN);
      writer.close();
    };
    if (lifecycle) releases.push(lifecycle.onDrain(finish));
    // The replay alone can overflow a slow reader, closing the stream before there was anything to release.
    if (writer.closed) release();
    return HANDLED;
  };

  return { getEvents };
}

const SHUTDOWN = formatSseComment('server shutting down');

/** One feed event as SSE. */
export const formatFeedEntry = (entry: FeedEntry): string =>
  formatSseEvent({ event: entry.event.type, id: entry.id, data: JSON.stringify(entry.event) });
