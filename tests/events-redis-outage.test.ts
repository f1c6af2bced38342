/**
 * The Redis event feed when Redis dies (SIGKILL to its PID) and comes back on the same port, with its data
 * (append-only file) or without: emitting never throws, readiness reads degraded, open subscriptions get one
 * `unavailable` and end; on the return the bus resumes, resuming from the last id replays what was missed, and the
 * events emitted meanwhile are appended in order (or, past the outbox's bound, after a `reset`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { FeedEntry } from '../src/events/feed.js';
import { DEFAULT_STREAM_KEY } from '../src/events/redis-feed.js';
import { label, opened, recorder, testBus, type TestBus } from './helpers/bus.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const labels = (entries: FeedEntry[]) => entries.map(label);
const typeAndId = (e: FeedEntry | undefined) => [e?.event.type, e?.id];

/** A Redis that keeps its data across a kill (its append-only file), with two feeds on it. */
function persistentPair(ringSize?: number) {
  let dir = '';
  let redis: TestRedis | undefined;
  let a: TestBus | undefined;
  let b: TestBus | undefined;
  return {
    get redis() {
      return redis!;
    },
    get a() {
      return a!;
    },
    get b() {
      return b!;
    },
    async start() {
      dir = await mkdtemp(path.join(tmpdir(), 'task-mcp-redis-aof-'));
      redis = await startRedis(undefined, { persistIn: dir });
      [a, b] = [testBus(redis.url, ringSize), testBus(redis.url, ringSize)];
      await Promise.all([a.up(), b.up()]);
    },
    async restart() {
      redis = await startRedis(redis!.port, { persistIn: dir });
      await Promise.all([a!.up(), b!.up()]);
    },
    async stop() {
      await Promise.all([a?.feed.close(), b?.feed.close()]);
      await redis?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('Redis event feed: Redis killed, then back with its data', () => {
  const pair = persistentPair();
  before(() => pair.start());
  after(() => pair.stop());
  const closed = [recorder(), recorder()];
  let lastId = '';

  test('emit neither throws nor waits, the bus reads degraded, and each open subscription gets one unavailable and ends', async () => {
    const { a, b } = pair;
    a.feed.subscribe(undefined, closed[0]!.listener);
    b.feed.subscribe(undefined, closed[1]!.listener);
    a.feed.emit(opened('before-kill'));
    lastId = (await closed[1]!.entry('before-kill')).id;
    await closed[0]!.entry('before-kill');

    await pair.redis.kill();
    await Promise.all([a.down(), b.down()]);
    for (const sub of closed) {
      const seen = await sub.count(2);
      assert.deepEqual(seen.map(typeAndId), [typeAndId(seen[0]), ['unavailable', lastId]]);
    }
    assert.equal(await a.feed.checks.eventBus(), 'degraded');
    assert.equal(await b.feed.checks.eventBus(), 'degraded');
    assert.ok(
      a.logged.some((line) => /Redis unavailable/.test(line)),
      'the loss is logged',
    );

    // A tool call's emit: returns at once, nothing to await, nothing thrown.
    for (const slug of ['down-a1', 'down-a2']) assert.equal(a.feed.emit(opened(slug)), undefined);
    assert.equal(b.feed.emit(opened('down-b1')), undefined);

    // A client that connects meanwhile is told at once, and keeps its position.
    const early = recorder();
    b.feed.subscribe(lastId, early.listener);
    assert.deepEqual(early.entries.map(typeAndId), [['unavailable', lastId]]);
  });

  test('once Redis is back, resuming from the last id replays what was missed, emitted-while-down included, once and in order', async () => {
    const { a, b } = pair;
    await pair.restart();
    const [onB, onA] = [recorder(), recorder()];
    b.feed.subscribe(lastId, onB.listener);
    a.feed.subscribe(lastId, onA.listener);
    const replayed = await onB.count(3);
    assert.deepEqual(labels(replayed).sort(), ['down-a1', 'down-a2', 'down-b1']);
    assert.deepEqual(
      labels(replayed).filter((slug) => slug.startsWith('down-a')),
      ['down-a1', 'down-a2'],
      "an instance's events keep their order",
    );
    assert.deepEqual(await onA.count(3), replayed, 'both instances replay one order');

    a.feed.emit(opened('after-return'));
    assert.deepEqual(labels(await onB.count(4)).at(-1), 'after-return');
    assert.deepEqual(labels(await onA.count(4)), labels(onB.entries));
    // The subscriptions ended by the loss stay ended.
    for (const sub of closed) assert.deepEqual(sub.entries.at(-1)?.event.type, 'unavailable');
    assert.deepEqual(
      closed.map((sub) => sub.entries.length),
      [2, 2],
    );
  });
});

describe('Redis event feed: more events while Redis is away than the ring holds', () => {
  const pair = persistentPair(3);
  before(() => pair.start());
  after(() => pair.stop());

  test('keeps the newest ring-size events and appends a reset before them, so no gap passes silently', async () => {
    const { a, b } = pair;
    const live = recorder();
    b.feed.subscribe(undefined, live.listener);
    a.feed.emit(opened('kept-before'));
    const { id: lastId } = await live.entry('kept-before');
    await pair.redis.kill();
    await a.down();
    for (let i = 1; i <= 5; i++) a.feed.emit(opened(`over-${i}`));
    await pair.restart();
    const resumed = recorder();
    b.feed.subscribe(lastId, resumed.listener);
    assert.deepEqual(labels(await resumed.count(4)), ['reset', 'over-3', 'over-4', 'over-5']);
  });
});

describe('Redis event feed: Redis killed, then back empty', () => {
  let redis: TestRedis;
  let a: TestBus;
  before(async () => {
    redis = await startRedis();
    a = testBus(redis.url);
    await a.up();
  });
  after(async () => {
    await a?.feed.close();
    await redis?.stop();
  });

  test('appends what was emitted while down to the new stream; an id from the old one gets a reset past it', async () => {
    const live = recorder();
    a.feed.subscribe(undefined, live.listener);
    a.feed.emit(opened('lost-with-redis'));
    const { id: lastId } = await live.entry('lost-with-redis');
    await redis.kill();
    await a.down();
    a.feed.emit(opened('while-empty'));
    redis = await startRedis(redis.port);
    await a.up();
    const resumed = recorder();
    a.feed.subscribe(lastId, resumed.listener);
    const [reset] = await resumed.count(1);
    const direct = new Redis(redis.url);
    try {
      const stream = await direct.xrange(DEFAULT_STREAM_KEY, '-', '+');
      assert.deepEqual(
        stream.map(([, fields]) => (JSON.parse(fields[1]!) as { slug: string }).slug),
        ['while-empty'],
      );
      assert.deepEqual(typeAndId(reset), ['reset', stream[0]![0]]);
    } finally {
      direct.disconnect();
    }
  });
});

describe('Redis event feed: an append whose reply never came', () => {
  let redis: TestRedis;
  let a: TestBus;
  before(async () => {
    redis = await startRedis();
    a = testBus(redis.url);
    await a.up();
  });
  after(async () => {
    await a?.feed.close();
    await redis?.stop();
  });

  test('is retried, and appended once', async () => {
    const live = recorder();
    a.feed.subscribe(undefined, live.listener);
    const direct = new Redis(redis.url);
    try {
      // Redis holds writes (our appends) past the feed's command timeout, then runs every one it was sent.
      await direct.call('CLIENT', 'PAUSE', '3500', 'WRITE');
      a.feed.emit(opened('sent-twice'));
      // Two timeouts: the first send and its retry are both waiting in Redis.
      await a.logs('two timed-out appends', (logged) => logged.filter((l) => /append failed/.test(l)).length >= 2);
      await live.entry('sent-twice');
      a.feed.emit(opened('after-pause'));
      await live.entry('after-pause');
      assert.deepEqual(labels(live.entries), ['sent-twice', 'after-pause']);
      assert.equal(await direct.xlen(DEFAULT_STREAM_KEY), 2);
    } finally {
      direct.disconnect();
    }
  });
});

describe('Redis event feed: Redis frozen (no answers, no closed connection, as with a host lost)', () => {
  let redis: TestRedis;
  let a: TestBus;
  before(async () => {
    redis = await startRedis();
    a = testBus(redis.url);
    await a.up();
  });
  after(async () => {
    redis?.thaw();
    await a?.feed.close();
    await redis?.stop();
  });

  test('is noticed by the silence: streams told, bus degraded; once it answers again the bus resumes', async () => {
    const live = recorder();
    a.feed.subscribe(undefined, live.listener);
    a.feed.emit(opened('before-freeze'));
    const { id: lastId } = await live.entry('before-freeze');
    redis.freeze();
    a.feed.emit(opened('during-freeze'));
    await a.down();
    assert.deepEqual(live.entries.map(typeAndId).at(-1), ['unavailable', lastId]);

    redis.thaw();
    await a.up();
    const resumed = recorder();
    a.feed.subscribe(lastId, resumed.listener);
    await resumed.entry('during-freeze');
    a.feed.emit(opened('after-thaw'));
    // The append sent before the connection was dropped may have run when Redis woke: it is still there once.
    assert.deepEqual(labels(await resumed.count(2)), ['during-freeze', 'after-thaw']);
  });
});
