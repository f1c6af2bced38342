/**
 * The change event feed: a `ChangeEventSink` for the domain and a subscription for each `/v1/events` stream.
 * Events get sequential ids and a bounded ring keeps the latest for `Last-Event-ID` replay; a client that
 * missed more than the ring holds gets one `reset` event and reloads its state.
 *
 * One process only: with `REDIS_URL` the feed is the Redis stream of `redis-feed.ts`, shared by every instance.
 */
import type { ChangeEventSink } from '../changes/types.js';
import type { ChangeEvent, FeedEvent } from '../../generated/types.gen.js';

/** One event with the id a client resumes from. */
export interface FeedEntry {
  id: string;
  event: FeedEvent;
}

export type FeedListener = (entry: FeedEntry) => void;

export interface EventFeed extends ChangeEventSink {
  /**
   * Calls `listener` with every event after `lastEventId` still held, or with one `reset` when that id is no
   * longer held (or unknown), then with each new event, in id order. Without `lastEventId` only new events
   * arrive. Returns the unsubscribe function. The in-process feed replays before returning; a shared-bus feed
   * may replay later, so callers must not rely on that. A shared-bus feed that loses its bus ends the
   * subscription with one `unavailable` entry (its id is where the subscriber stood) and delivers nothing after
   * it: the caller ends its stream, and its client resumes from that id.
   */
  subscribe(lastEventId: string | undefined, listener: FeedListener): () => void;
}

export interface EventFeedOptions {
  /** Events kept for replay. */
  ringSize: number;
  /**
   * The first event's id. Default `Date.now()`: ids then grow across restarts, so an id from an earlier process
   * reads as older than the ring and its client gets a `reset` instead of a replay of unrelated events.
   */
  firstId?: number;
  now?: () => Date;
  /** Told about a listener that threw; that listener is dropped so one bad stream cannot fail a tool call. */
  onListenerError?: (err: unknown) => void;
  /** Told, once per change event delivered, how long after its `at` it reached this process's subscribers. */
  onDelivered?: (lagSeconds: number) => void;
}

/**
 * Tells `onDelivered` the seconds from a change event's `at` (when the domain published it) to `now`; nothing for
 * the feed's own entries (a reset, an unavailable), which are no publication.
 */
export function reportDelivery(event: FeedEvent, now: Date, onDelivered?: (lagSeconds: number) => void): void {
  if (onDelivered && 'slug' in event) onDelivered(Math.max(0, now.getTime() - Date.parse(event.at)) / 1000);
}

/** Creates an in-process feed. */
export function createEventFeed(options: EventFeedOptions): EventFeed {
  const { ringSize, firstId = Date.now(), now = () => new Date(), onListenerError, onDelivered } = options;
  if (!Number.isSafeInteger(ringSize) || ringSize < 1)
    throw new RangeError(`ringSize must be a positive integer, got ${ringSize}`);
  if (!Number.isSafeInteger(firstId) || firstId < 1)
    throw new RangeError(`firstId must be a positive integer, got ${firstId}`);

  const ring: ChangeEvent[] = new Array<ChangeEvent>(ringSize);
  let lastId = firstId - 1; // the id of the newest event; firstId - 1 while there is none
  let held = 0; // events in the ring
  const listeners = new Set<FeedListener>();

  const entry = (id: number): FeedEntry => ({ id: String(id), event: ring[id % ringSize]! });

  /** False when the listener threw and was dropped. */
  const deliver = (listener: FeedListener, item: FeedEntry): boolean => {
    try {
      listener(item);
      return true;
    } catch (err) {
      listeners.delete(listener);
      onListenerError?.(err);
      return false;
    }
  };

  /** The entries after `from`, or a reset when `from` is not an id this feed can resume from. */
  const missed = (from: string): FeedEntry[] => {
    const id = /^[0-9]{1,15}$/.test(from) ? Number(from) : NaN;
    const oldest = lastId - held + 1;
    if (!(id >= oldest - 1 && id <= lastId))
      return [{ id: String(lastId), event: { type: 'reset', at: now().toISOString() } }];
    const entries: FeedEntry[] = [];
    for (let next = id + 1; next <= lastId; next++) entries.push(entry(next));
    return entries;
  };

  return {
    emit(event) {
      lastId += 1;
      ring[lastId % ringSize] = event;
      held = Math.min(held + 1, ringSize);
      const item = entry(lastId);
      // A copy, so a listener that unsubscribes (or subscribes) while we deliver cannot disturb the loop.
      for (const listener of [...listeners]) deliver(listener, item);
      reportDelivery(event, now(), onDelivered);
    },
    subscribe(lastEventId, listener) {
      const replay = lastEventId === undefined ? [] : missed(lastEventId);
      if (!replay.every((item) => deliver(listener, item))) return () => undefined;
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
