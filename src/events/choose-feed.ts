/**
 * Which change feed this process runs: with `REDIS_URL`, the Redis stream every instance shares; without it,
 * the in-process ring (the embedded default, one process only).
 */
import type { Logger } from 'pino';
import type { CheckState } from '../../generated/types.gen.js';
import { createEventFeed, type EventFeed } from './feed.js';
import { createRedisEventFeed } from './redis-feed.js';

export interface ChosenFeed {
  feed: EventFeed;
  /** Readiness checks: `eventBus` with Redis, none without. */
  checks: Record<string, () => Promise<CheckState>>;
  /** Closes the feed's connections; call after the server has stopped, so late events are still appended. */
  close(): Promise<void>;
}

export interface ChooseFeedOptions {
  redisUrl: string | undefined;
  ringSize: number;
  logger: Logger;
  /** Told how long each change event took from its publication to this process's subscribers, on which bus. */
  onDelivered?: (delivery: { bus: 'memory' | 'redis'; seconds: number }) => void;
}

/** The feed for this configuration. */
export function chooseFeed({ redisUrl, ringSize, logger, onDelivered }: ChooseFeedOptions): ChosenFeed {
  const onListenerError = (err: unknown): void => logger.warn({ err }, 'an event stream listener failed; dropped it');
  const delivered = (bus: 'memory' | 'redis') => (seconds: number) => onDelivered?.({ bus, seconds });
  if (redisUrl === undefined) {
    const feed = createEventFeed({ ringSize, onListenerError, onDelivered: delivered('memory') });
    return { feed, checks: {}, close: async () => undefined };
  }
  const feed = createRedisEventFeed({
    url: redisUrl,
    ringSize,
    logger,
    onListenerError,
    onDelivered: delivered('redis'),
  });
  return { feed, checks: feed.checks, close: () => feed.close() };
}
