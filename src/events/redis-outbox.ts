/**
 * The write side of the Redis event bus: events wait here, in emit order, until Redis has appended them to the
 * stream. `push` never waits and never throws, so a tool call never depends on Redis. While Redis is away the
 * outbox holds up to `capacity` events; past that the oldest unsent ones are dropped and a `reset` takes their
 * place at the head, so every subscriber learns of the gap instead of missing events silently. When Redis is
 * back the outbox is flushed in order.
 *
 * A reply lost with its connection leaves an append in doubt: Redis may have applied it. Each append carries
 * this producer's sequence number and the script skips one it has applied before, so retrying is safe and an
 * event is appended once.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ChangeEvent, FeedEvent } from '../../generated/types.gen.js';

/**
 * KEYS[1] the stream, KEYS[2] this producer's last applied sequence number; ARGV: sequence number, MAXLEN, the
 * event's JSON, the producer key's lifetime in seconds.
 */
const APPEND_ONCE = `
local applied = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) <= applied then return false end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4])
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3])
`;

/** How long Redis remembers a producer's sequence number: far longer than any retry of an append in doubt. */
const PRODUCER_TTL_SECONDS = 24 * 60 * 60;
/** Appends sent in one round trip. */
const BATCH = 100;
/** Wait before retrying after a failed flush while the connection still looks up (a timeout, a script error). */
const RETRY_MS = 250;

type AppendOnce = (stream: string, producer: string, seq: number, maxLen: number, json: string, ttl: number) => void;

export interface OutboxOptions {
  /** The command connection; the outbox flushes on each of its `ready` events. */
  client: Redis;
  /** The stream's key. */
  key: string;
  /** Approximate length the stream is trimmed to, and the most events held while Redis is away. */
  capacity: number;
  now: () => Date;
  /** Told about a failed flush (the events stay queued). */
  onFlushError: (err: unknown) => void;
}

export interface Outbox {
  /** Queues `event` and starts a flush. */
  push(event: ChangeEvent): void;
  /** Resolves when a flush has tried to send what is queued. */
  flush(): Promise<void>;
  /** Events not yet known to be appended. */
  readonly pending: number;
  /** Stops retrying. */
  close(): void;
}

interface Item {
  event: FeedEvent;
  /** Set when first sent, kept for retries: the script applies each number once. */
  seq?: number;
}

/** Creates the outbox of one producer (a random id per process) on `client`. */
export function createOutbox({ client, key, capacity, now, onFlushError }: OutboxOptions): Outbox {
  const producerKey = `${key}:producer:${randomUUID()}`;
  client.defineCommand('appendOnce', { numberOfKeys: 2, lua: APPEND_ONCE });
  const queue: Item[] = [];
  let lastSeq = 0;
  let flushing: Promise<void> | undefined;
  let again = false;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  /** Keeps at most `capacity` unsent events; sent ones stay until acknowledged (the script dedupes them). */
  const bound = (): void => {
    const firstUnsent = queue.findIndex((item) => item.seq === undefined);
    if (firstUnsent < 0) return;
    const marked = queue[firstUnsent]!.event.type === 'reset';
    if (queue.length - firstUnsent - (marked ? 1 : 0) <= capacity) return;
    if (marked) queue.splice(firstUnsent + 1, 1);
    else queue.splice(firstUnsent, 1, { event: { type: 'reset', at: now().toISOString() } });
  };

  /** Sends one batch; rejects with the first failure, leaving it and what follows queued. */
  const sendBatch = async (): Promise<void> => {
    const batch = queue.slice(0, BATCH);
    const pipeline = client.pipeline();
    const append = (pipeline as unknown as { appendOnce: AppendOnce }).appendOnce.bind(pipeline);
    for (const item of batch) {
      item.seq ??= ++lastSeq;
      append(key, producerKey, item.seq, capacity, JSON.stringify(item.event), PRODUCER_TTL_SECONDS);
    }
    const results = (await pipeline.exec()) ?? [];
    // Redis runs a pipeline in order: what follows a failed append was not applied either.
    const failed = results.findIndex(([err]) => err !== null);
    queue.splice(0, failed < 0 ? batch.length : failed);
    if (failed >= 0) throw results[failed]![0];
  };

  const run = async (): Promise<void> => {
    again = false;
    try {
      while (queue.length > 0 && client.status === 'ready' && !closed) await sendBatch();
    } catch (err) {
      onFlushError(err);
      if (client.status === 'ready' && !closed) {
        retry = setTimeout(() => void flush(), RETRY_MS);
        retry.unref();
      }
    }
  };

  /** One flush at a time; a push during one asks for another, which then sends what the first missed. */
  const flush = (): Promise<void> => {
    clearTimeout(retry);
    if (flushing) {
      again = true;
      return flushing;
    }
    flushing = run().finally(() => {
      flushing = undefined;
      if (again) void flush();
    });
    return flushing;
  };

  client.on('ready', () => void flush());

  return {
    push(event) {
      queue.push({ event });
      bound();
      void flush();
    },
    flush,
    get pending() {
      return queue.length;
    },
    close() {
      closed = true;
      clearTimeout(retry);
    },
  };
}
