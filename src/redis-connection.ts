/**
 * Connections to Redis, made one way for every part that uses it (rate limits, sign-outs, the event bus): nothing
 * ever waits on a Redis that is not there. While a connection is down its commands fail at once (no offline queue,
 * no retries) and it reconnects in the background. A store's connection also times out a slow command and logs
 * each change of health once; each store decides for itself what "down" means.
 */
import { createRequire } from 'node:module';
import type * as Ioredis from 'ioredis';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * ioredis, loaded on the first connection: a server without `REDIS_URL` never makes one, and ioredis is one of
 * the larger packages a start would load. It is CommonJS, so `require` loads it as it is needed, synchronously.
 */
const loadIoredis = (): typeof Ioredis => createRequire(import.meta.url)('ioredis') as typeof Ioredis;

/** A Redis call that takes longer than this counts as Redis being down: the request must not wait on it. */
export const REDIS_COMMAND_MS = 500;

/** What the log says about the store, as `<name>: Redis connected; <whenUp>` and `…unavailable; <whenDown>`. */
export interface StoreLabels {
  name: string;
  whenUp: string;
  whenDown: string;
}

export interface RedisConnection {
  client: Redis;
  /** Whether commands can be sent now. */
  ready(): boolean;
  /** Reports a failed command: logged once until Redis is back. */
  failed(err: unknown): void;
  /** Runs `command` when Redis is up: undefined (a failure noted with `failed`) when it is not, or fails. */
  attempt<T>(command: () => Promise<T>): Promise<T | undefined>;
  close(): void;
}

/**
 * A client that fails fast: commands sent while it is disconnected fail at once, and it reconnects every 2 s at
 * most. `options` adds to that (a connection name, timeouts).
 */
export const createRedisClient = (url: string, options: RedisOptions = {}): Redis =>
  new (loadIoredis().Redis)(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    ...options,
  });

/** Connects to `url` in the background; the store works (degraded) until, and whenever, Redis is not there. */
export function connectRedis(url: string, logger: Logger, labels: StoreLabels): RedisConnection {
  const client = createRedisClient(url, { commandTimeout: REDIS_COMMAND_MS });
  let state: 'connecting' | 'up' | 'down' = 'connecting';
  let closing = false;
  const down = (err: unknown): void => {
    if (closing || state === 'down') return;
    state = 'down';
    logger.warn({ err: (err as Error).message }, `${labels.name}: Redis unavailable; ${labels.whenDown}`);
  };
  client.on('ready', () => {
    state = 'up';
    logger.info(`${labels.name}: Redis connected; ${labels.whenUp}`);
  });
  // ioredis emits `error` on every failed reconnect; without a listener it would crash the process.
  client.on('error', down);
  client.on('close', () => down(new Error('connection closed')));
  const ready = (): boolean => client.status === 'ready';
  return {
    client,
    ready,
    failed: down,
    async attempt(command) {
      if (!ready()) return undefined;
      try {
        return await command();
      } catch (err) {
        down(err);
        return undefined;
      }
    },
    close(): void {
      closing = true;
      client.disconnect();
    },
  };
}
