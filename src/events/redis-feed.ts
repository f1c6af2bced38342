/**
 * The change event feed over a Redis stream, shared by every instance on one `REDIS_URL`. An event is appended
 * to the stream (`XADD`, trimmed to about `EVENT_RING_SIZE`) and never delivered locally: each instance reads
 * the stream with a blocking `XREAD` on its own connection and fans it out to its subscribers, so every
 * subscriber, on every instance, the emitting one included, gets each event once and in the stream's order.
 * The stream entry id is the event id a client resumes from; `XRANGE` replays what it missed.
 *
 * While Redis is away: emitting still returns at once (the outbox holds the events and flushes them in order
 * when Redis is back), each open subscription gets one `unavailable` entry and ends, new ones get it at once,
 * and `eventBus` reads `degraded`. The `unavailable` entry's id is the subscriber's position, so the client
 * reconnects with it and replays what it missed once the bus is back.
 */
import type { Redis, RedisOptions } from 'ioredis';
import type { CheckState, FeedEvent } from '../../generated/types.gen.js';
import { createRedisClient } from '../redis-connection.js';
import { createFanOut, isStreamId, UNKNOWN_POSITION, type Replay } from './fan-out.js';
import { reportDelivery, type EventFeed, type FeedEntry, type FeedListener } from './feed.js';
import { createOutbox } from './redis-outbox.js';

/** The stream's default key, in the project's Redis namespace (the rate limits use `task-mcp:rl:`). */
export const DEFAULT_STREAM_KEY = 'task-mcp:events';
/** How long one `XREAD` blocks before the loop asks again. */
const BLOCK_MS = 5000;
/** A command (an append, a replay) slower than this counts as failed: nothing waits on it longer. */
const COMMAND_MS = 1000;
/**
 * A connection that owes a reply and hears nothing for this long is dropped and reconnected: a peer gone without
 * closing the connection (a host lost, a partition) is noticed in seconds, not at the next TCP keep-alive.
 */
const SILENCE_MS = BLOCK_MS + 2000;
/** Wait before reading again after the read failed on a connection that still looks up. */
const RETRY_MS = 1000;

/** The pino methods the feed logs with; a pino `Logger` fits. */
export interface BusLog {
  info(obj: object | string, msg?: string): void;
  warn(obj: object, msg: string): void;
}

export interface RedisEventFeedOptions {
  url: string;
  /** About how many events the stream keeps for replay (`MAXLEN ~`), and the most queued while Redis is away. */
  ringSize: number;
  /** The stream's key. Default `task-mcp:events`. */
  key?: string;
  logger: BusLog;
  now?: () => Date;
  /** Told about a listener that threw; that listener is dropped so one bad stream cannot fail the others. */
  onListenerError?: (err: unknown) => void;
  /** Told, once per change event read off the stream, how long after its `at` it reached this instance. */
  onDelivered?: (lagSeconds: number) => void;
}

export interface RedisEventFeed extends EventFeed {
  /** `eventBus`: `ok` while the bus is shared, `degraded` while Redis is away. */
  checks: { eventBus: () => Promise<CheckState> };
  /** Tries once more to append what is queued, then closes both connections. */
  close(): Promise<void>;
}

/** The project's fail-fast connections; a reply lost with its connection is not sent again (the outbox retries). */
const connection = (url: string, options: RedisOptions): Redis =>
  createRedisClient(url, { autoResendUnfulfilledCommands: false, socketTimeout: SILENCE_MS, ...options });

/** Creates the feed and connects; it reads `degraded` until both connections are up. */
export function createRedisEventFeed(options: RedisEventFeedOptions): RedisEventFeed {
  const {
    url,
    ringSize,
    key = DEFAULT_STREAM_KEY,
    logger,
    now = () => new Date(),
    onListenerError,
    onDelivered,
  } = options;
  if (!Number.isSafeInteger(ringSize) || ringSize < 1)
    throw new RangeError(`ringSize must be a positive integer, got ${ringSize}`);
  const commands = connection(url, { commandTimeout: COMMAND_MS, connectionName: 'task-mcp:events' });
  // Its own connection: a blocking XREAD holds the connection it runs on.
  const reader = connection(url, { connectionName: 'task-mcp:events:read' });
  const subscribers = createFanOut(onListenerError);
  const outbox = createOutbox({
    client: commands,
    key,
    capacity: ringSize,
    now,
    onFlushError: (err) => logger.warn({ err: message(err) }, 'event bus: append failed; events stay queued'),
  });
  /** The read loop holds a cursor. */
  let following = false;
  /** Both connections serve: a subscription needs the reader for live entries and the commands for its replay. */
  let up = false;
  /** The id of the last entry fanned out: a new subscriber without `Last-Event-ID` starts after it. */
  let cursor: string = UNKNOWN_POSITION;
  /** Bumped whenever a read loop must stop, so a stale loop never delivers. */
  let generation = 0;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  const stamp = (): string => now().toISOString();
  const unavailable = (position: string): FeedEntry => ({ id: position, event: { type: 'unavailable', at: stamp() } });
  const tell = (listener: FeedListener, entry: FeedEntry): void => {
    try {
      listener(entry);
    } catch (err) {
      onListenerError?.(err);
    }
  };

  const newestId = async (client: Redis): Promise<string> => {
    const [newest] = await client.xrevrange(key, '+', '-', 'COUNT', 1);
    return newest?.[0] ?? UNKNOWN_POSITION;
  };

  /** The entries after `from`, or a reset (with the newest id) when `from` is not an id the stream holds. */
  const replay = async (from: string): Promise<Replay> => {
    const reset = (id: string): Replay => ({ reset: { id, event: { type: 'reset', at: stamp() } } });
    if (!isStreamId(from)) return reset(await newestId(commands));
    const entries = toEntries(await commands.xrange(key, from, '+'), logger);
    if (entries[0]?.id === from) return { entries: entries.slice(1) };
    return reset(entries.at(-1)?.id ?? (await newestId(commands)));
  };

  /** Logs each change of health once; on the way down ends every subscription with `unavailable`. */
  const refresh = (reason: string): void => {
    const serving = following && commands.status === 'ready' && !closed;
    if (serving === up) return;
    up = serving;
    if (up) return logger.info('event bus: Redis connected; events are shared by every instance');
    logger.warn({ reason }, 'event bus: Redis unavailable; streams told to reconnect, events queued');
    subscribers.endAll(unavailable);
  };

  const stopFollowing = (reason: string): void => {
    generation++;
    following = false;
    refresh(reason);
  };

  /** Reads the stream from its newest entry on, until the connection is lost or the feed closes. */
  const follow = async (): Promise<void> => {
    clearTimeout(retry);
    const run = ++generation;
    try {
      cursor = await newestId(reader);
      if (run !== generation) return;
      following = true;
      refresh('reading');
      while (run === generation) {
        const reply = await reader.xread('BLOCK', BLOCK_MS, 'STREAMS', key, cursor);
        if (run !== generation) return;
        for (const entry of toEntries(reply?.[0]?.[1] ?? [], logger)) {
          cursor = entry.id;
          subscribers.publish(entry);
          reportDelivery(entry.event, now(), onDelivered);
        }
      }
    } catch (err) {
      if (run !== generation) return;
      stopFollowing(message(err));
      // A failure that left the connection up (a WRONGTYPE key, say) gets no `ready` event to restart on.
      if (reader.status === 'ready' && !closed) retry = setTimeout(() => void follow(), RETRY_MS).unref();
    }
  };

  reader.on('ready', () => void follow());
  reader.on('close', () => stopFollowing('connection closed'));
  // The outbox registered its own `ready` listener first, so its flush is written before any replay's XRANGE
  // on this connection: a client resuming right after Redis returns replays what was queued meanwhile.
  commands.on('ready', () => refresh('ready'));
  commands.on('close', () => refresh('connection closed'));
  // ioredis emits `error` on every failed reconnect; without a listener it would crash the process.
  reader.on('error', () => undefined);
  commands.on('error', () => undefined);

  return {
    emit: (event) => outbox.push(event),
    subscribe(lastEventId, listener) {
      if (!up) {
        tell(listener, unavailable(lastEventId === undefined ? cursor : positionOf(lastEventId)));
        return () => undefined;
      }
      if (lastEventId === undefined) {
        const sub = subscribers.add(listener, cursor);
        return () => subscribers.remove(sub);
      }
      const sub = subscribers.addReplaying(listener, positionOf(lastEventId));
      replay(lastEventId).then(
        (found) => subscribers.replayed(sub, found),
        (err: unknown) => {
          logger.warn({ err: message(err) }, 'event bus: replay failed; the stream is told to reconnect');
          subscribers.end(sub, unavailable);
        },
      );
      return () => subscribers.remove(sub);
    },
    checks: { eventBus: async () => (up ? 'ok' : 'degraded') },
    async close() {
      closed = true;
      generation++;
      up = false;
      clearTimeout(retry);
      subscribers.clear();
      await outbox.flush();
      outbox.close();
      reader.disconnect();
      commands.disconnect();
    },
  };
}

type RawEntry = [id: string, fields: string[]];

/** Stream entries as feed entries; one that is not ours (no JSON `event` field) is skipped and logged. */
function toEntries(raw: RawEntry[], logger: BusLog): FeedEntry[] {
  const entries: FeedEntry[] = [];
  for (const [id, fields] of raw) {
    const at = fields.indexOf('event');
    const json = at >= 0 ? fields[at + 1] : undefined;
    try {
      const event = JSON.parse(json ?? '') as FeedEvent;
      if (typeof event?.type === 'string') entries.push({ id, event });
      else throw new TypeError('no event type');
    } catch {
      logger.warn({ id }, 'event bus: skipped a stream entry that is not a feed event');
    }
  }
  return entries;
}

/** Where a client that sent `lastEventId` stands: that id, or nowhere (it gets a `reset`) when it is not ours. */
const positionOf = (lastEventId: string): string => (isStreamId(lastEventId) ? lastEventId : UNKNOWN_POSITION);

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
