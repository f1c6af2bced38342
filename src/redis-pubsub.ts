/**
 * Messages between the instances on one `REDIS_URL`, over Redis pub/sub: channels every instance hears (a
 * sign-out) and a channel of each instance's own, named by the random id it takes at start (an HTTP+SSE message
 * relayed to the instance that holds its session). One subscriber connection per process, subscribed again to
 * every channel after each reconnect, and a fail-fast connection to publish on: nothing waits on a Redis that is
 * not there. The bus is up once both connections are and the subscriptions are made, and logs each change of
 * that once. Pub/sub keeps nothing: a message published while a receiver is reconnecting is lost to it, so a user
 * that must know it arrived (the relay) has the receiver answer.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createRedisClient, REDIS_COMMAND_MS } from './redis-connection.js';

/** Every channel's name starts so, in the project's Redis namespace. */
const PREFIX = 'task-mcp:bus:';

/** A message: a JSON object. */
export type BusMessage = Record<string, unknown>;

export interface PubSub {
  /** This process among the instances: random at each start, so a restarted instance is a new one. */
  readonly instanceId: string;
  /** Publishes `message` on `channel`; resolves with how many instances heard it, rejects when Redis cannot take it. */
  publish(channel: string, message: BusMessage): Promise<number>;
  /** Calls `handler` with every message on `channel` from now on; returns the unsubscribe function. */
  subscribe(channel: string, handler: (message: BusMessage) => void): () => void;
  close(): void;
}

/** The channel of instance `id`'s own. */
export const instanceChannel = (id: string): string => `instance:${id}`;

/** Connects in the background; until Redis answers, `publish` fails and nothing is heard. */
export function connectPubSub(url: string, logger: Pick<Logger, 'info' | 'warn'>): PubSub {
  const instanceId = randomUUID();
  const publisher = createRedisClient(url, { commandTimeout: REDIS_COMMAND_MS, connectionName: 'task-mcp:bus:pub' });
  const subscriber = createRedisClient(url, { connectionName: 'task-mcp:bus:sub' });
  const handlers = new Map<string, Set<(message: BusMessage) => void>>();
  let subscribed = false;
  let up: boolean | undefined;
  let closing = false;

  /** Logs each change of health once. */
  const refresh = (reason?: string): void => {
    const now = publisher.status === 'ready' && subscribed;
    if (now === up || closing || (up === undefined && !now)) return;
    up = now;
    if (up) logger.info('instance bus: Redis connected; instances hear each other');
    else
      logger.warn(
        { reason },
        'instance bus: Redis unavailable; sign-outs and HTTP+SSE messages stay on their instance',
      );
  };
  const channels = (): string[] => [...handlers.keys()].map((channel) => PREFIX + channel);
  subscriber.on('ready', () => {
    const all = channels();
    (all.length > 0 ? subscriber.subscribe(...all) : Promise.resolve()).then(
      () => ((subscribed = true), refresh()),
      (err: Error) => refresh(err.message),
    );
  });
  subscriber.on('close', () => ((subscribed = false), refresh('connection closed')));
  publisher.on('ready', () => refresh());
  publisher.on('close', () => refresh('connection closed'));
  // ioredis emits `error` on every failed reconnect; without a listener it would crash the process.
  subscriber.on('error', () => undefined);
  publisher.on('error', () => undefined);
  subscriber.on('message', (full: string, text: string) => {
    const found = handlers.get(full.slice(PREFIX.length));
    if (!found) return;
    let message: BusMessage;
    try {
      message = JSON.parse(text) as BusMessage;
    } catch {
      return logger.warn({ channel: full }, 'instance bus: dropped a message that is not JSON');
    }
    for (const handler of [...found]) handler(message);
  });

  return {
    instanceId,
    publish: (channel, message) => publisher.publish(PREFIX + channel, JSON.stringify(message)),
    subscribe(channel, handler) {
      const found = handlers.get(channel) ?? new Set();
      if (found.size === 0) {
        handlers.set(channel, found);
        // While disconnected this fails; the next `ready` subscribes to every channel.
        if (subscribed) subscriber.subscribe(PREFIX + channel).catch(() => undefined);
      }
      found.add(handler);
      return () => {
        found.delete(handler);
        if (found.size > 0 || handlers.get(channel) !== found) return;
        handlers.delete(channel);
        subscriber.unsubscribe(PREFIX + channel).catch(() => undefined);
      };
    },
    close() {
      closing = true;
      handlers.clear();
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
