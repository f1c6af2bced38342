/**
 * Event bus delivery lag, from a change event's publication (its `at`) to its delivery to this process's
 * subscribers: reported by the in-process feed and by the Redis feed on a real `redis-server`, each under its bus,
 * as the composition root chooses them (src/events/choose-feed.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { chooseFeed, type ChosenFeed } from '../src/events/choose-feed.js';
import { createEventFeed } from '../src/events/feed.js';
import { opened, recorder } from './helpers/bus.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { until } from './helpers/within.js';

type Delivery = { bus: 'memory' | 'redis'; seconds: number };
const logger = pino({ level: 'silent' });
const publishedAgo = (slug: string, ms: number) => ({ ...opened(slug), at: new Date(Date.now() - ms).toISOString() });

describe('event delivery lag', () => {
  it('is reported by the in-process feed, once per change event, from its publication', () => {
    const lags: number[] = [];
    const at = new Date('2026-12-01T12:00:00.000Z');
    const feed = createEventFeed({
      ringSize: 4,
      now: () => new Date(at.getTime() + 250),
      onDelivered: (s) => lags.push(s),
    });
    feed.subscribe(undefined, () => undefined);
    feed.emit({ ...opened('lagging'), at: at.toISOString() });
    assert.deepEqual(lags, [0.25]);
  });

  it('is named for the in-process bus when there is no Redis', () => {
    const deliveries: Delivery[] = [];
    const chosen = chooseFeed({ redisUrl: undefined, ringSize: 4, logger, onDelivered: (d) => deliveries.push(d) });
    chosen.feed.emit(publishedAgo('memory-bus', 0));
    assert.deepEqual(
      deliveries.map((d) => d.bus),
      ['memory'],
    );
  });

  describe('on Redis', () => {
    let redis: TestRedis;
    let chosen: ChosenFeed;
    const deliveries: Delivery[] = [];
    before(async () => {
      redis = await startRedis();
      chosen = chooseFeed({ redisUrl: redis.url, ringSize: 4, logger, onDelivered: (d) => deliveries.push(d) });
      await until(10_000, 'the event bus up', async () => (await chosen.checks.eventBus!()) === 'ok');
    });
    after(async () => {
      await chosen?.close();
      await redis?.stop();
    });

    it('is reported as each event comes back off the stream, named for the redis bus', async () => {
      const subscriber = recorder();
      const stop = chosen.feed.subscribe(undefined, subscriber.listener);
      chosen.feed.emit(publishedAgo('redis-bus', 2000));
      await subscriber.entry('redis-bus');
      stop();
      assert.equal(deliveries.length, 1);
      assert.equal(deliveries[0]!.bus, 'redis');
      assert.ok(deliveries[0]!.seconds >= 2, `published 2 s ago, delivered after ${deliveries[0]!.seconds} s`);
    });
  });
});
