/**
 * The Redis event feed on a real `redis-server`, with two feeds on one Redis as two instances would have them:
 * one order for every subscriber on both, each event once (the emitting instance included), `Last-Event-ID`
 * replay on the other instance, a gap-free replay-then-live handover, and `reset` for ids the stream does not hold.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { FeedEntry } from '../src/events/feed.js';
import { label, opened, recorder, testBus, type TestBus } from './helpers/bus.js';
import { inStreamOrder, startRedis, type TestRedis } from './helpers/redis.js';

const ids = (entries: FeedEntry[]) => entries.map((e) => e.id);
const labels = (entries: FeedEntry[]) => entries.map(label);

describe('Redis event feed: two instances on one Redis', () => {
  let redis: TestRedis;
  let a: TestBus;
  let b: TestBus;
  before(async () => {
    redis = await startRedis();
    a = testBus(redis.url);
    b = testBus(redis.url);
    await Promise.all([a.up(), b.up()]);
  });
  after(async () => {
    await Promise.all([a?.feed.close(), b?.feed.close()]);
    await redis?.stop();
  });
  // Each instance reads at its own pace: a new subscriber without Last-Event-ID starts where its instance has
  // read to. So each test starts once both have read everything before it.
  let settled = 0;
  afterEach(async () => {
    const [onA, onB] = [recorder(), recorder()];
    const stops = [a.feed.subscribe(undefined, onA.listener), b.feed.subscribe(undefined, onB.listener)];
    a.feed.emit(opened(`settled-${++settled}`));
    await Promise.all([onA.entry(`settled-${settled}`), onB.entry(`settled-${settled}`)]);
    stops.forEach((stop) => stop());
  });

  test('delivers each event emitted on either instance to every subscriber on both, once, in one order', async () => {
    const subscribers = [recorder(), recorder(), recorder(), recorder()];
    const unsubscribes = subscribers.map((s, i) => (i < 2 ? a : b).feed.subscribe(undefined, s.listener));
    const slugs = Array.from({ length: 20 }, (_, i) => `shared-${i}`);
    slugs.forEach((slug, i) => (i % 2 === 0 ? a : b).feed.emit(opened(slug)));
    const seen = await Promise.all(subscribers.map((s) => s.count(slugs.length)));
    for (const entries of seen) {
      assert.deepEqual(ids(entries), ids(seen[0]!), 'every subscriber sees one order');
      assert.ok(inStreamOrder(ids(entries)), 'the order is the stream order');
    }
    // Each event exactly once, including on the instance that emitted it.
    assert.deepEqual([...labels(seen[0]!)].sort(), [...slugs].sort());
    // Each instance's own events keep the order it emitted them in.
    const fromA = slugs.filter((_, i) => i % 2 === 0);
    assert.deepEqual(
      labels(seen[0]!).filter((slug) => fromA.includes(slug)),
      fromA,
    );
    unsubscribes.forEach((unsubscribe) => unsubscribe());
  });

  test('replays from Last-Event-ID on the other instance, then goes live', async () => {
    const live = recorder();
    const stop = a.feed.subscribe(undefined, live.listener);
    for (const slug of ['r-one', 'r-two', 'r-three']) a.feed.emit(opened(slug));
    const first = await live.count(3);
    const resumed = recorder();
    const stopResumed = b.feed.subscribe(first[0]!.id, resumed.listener);
    assert.deepEqual(labels(await resumed.count(2)), ['r-two', 'r-three']);
    a.feed.emit(opened('r-four'));
    const all = await resumed.count(3);
    assert.deepEqual(ids(all), ids((await live.count(4)).slice(1)));
    stop();
    stopResumed();
  });

  test('hands a subscriber over from its replay to live entries without a gap or a repeat', async () => {
    const reference = recorder();
    const stopReference = b.feed.subscribe(undefined, reference.listener);
    const written = recorder();
    const stopWritten = a.feed.subscribe(undefined, written.listener);
    a.feed.emit(opened('handover-0'));
    const [start] = await reference.count(1);
    for (let i = 1; i <= 20; i++) a.feed.emit(opened(`handover-${i}`));
    await written.entry('handover-20');
    // The replay (at least 1..20) overlaps what B's reader delivers meanwhile (some of 1..20 again, then 21..60).
    const resumed = recorder();
    const stopResumed = b.feed.subscribe(start!.id, resumed.listener);
    for (let i = 21; i <= 60; i++) a.feed.emit(opened(`handover-${i}`));
    const expected = (await reference.count(61)).slice(1);
    assert.deepEqual(ids(await resumed.count(60)), ids(expected));
    a.feed.emit(opened('handover-after'));
    await reference.count(62);
    assert.deepEqual(labels(await resumed.count(61)).slice(-2), ['handover-60', 'handover-after']);
    assert.equal(resumed.entries.length, 61);
    stopWritten();
    stopReference();
    stopResumed();
  });

  test('sends one reset, with the newest id, for an id the stream never held; then goes live', async () => {
    const live = recorder();
    const stop = a.feed.subscribe(undefined, live.listener);
    a.feed.emit(opened('before-garbage'));
    let newest = await live.entry('before-garbage');
    // Malformed for a stream (a word, an in-process feed's number, three parts), or newer than every entry.
    for (const lastEventId of ['abc', '1795523254001', '1-2-3', '', '999999999999999-0']) {
      const resumed = recorder();
      const stopResumed = b.feed.subscribe(lastEventId, resumed.listener);
      const [reset] = await resumed.count(1);
      assert.deepEqual([reset!.id, reset!.event.type], [newest.id, 'reset'], lastEventId);
      a.feed.emit(opened(`after-${lastEventId}`));
      assert.deepEqual(labels(await resumed.count(2)), ['reset', `after-${lastEventId}`], lastEventId);
      newest = await live.entry(`after-${lastEventId}`);
      stopResumed();
    }
    stop();
  });

  test('unsubscribe stops delivery', async () => {
    const kept = recorder();
    const dropped = recorder();
    const stopKept = a.feed.subscribe(undefined, kept.listener);
    const stopDropped = a.feed.subscribe(undefined, dropped.listener);
    a.feed.emit(opened('one'));
    await dropped.count(1);
    stopDropped();
    b.feed.emit(opened('two'));
    assert.deepEqual(labels(await kept.count(2)), ['one', 'two']);
    assert.deepEqual(labels(dropped.entries), ['one']);
    stopKept();
  });
});

describe('Redis event feed: trimming', () => {
  let redis: TestRedis;
  let a: TestBus;
  before(async () => {
    redis = await startRedis();
    a = testBus(redis.url, 10);
    await a.up();
  });
  after(async () => {
    await a?.feed.close();
    await redis?.stop();
  });

  test('sends one reset for an id older than the first entry, once MAXLEN ~ has trimmed it', async () => {
    const live = recorder();
    const stop = a.feed.subscribe(undefined, live.listener);
    // MAXLEN ~ trims whole nodes of 100 entries: well past a node, the first entries are gone. Ten at a time, as
    // a burst larger than the ring would be cut short by the outbox's bound.
    for (let i = 0; i < 250; i++) {
      a.feed.emit(opened(`trim-${i}`));
      if (i % 10 === 9) await live.count(i + 1);
    }
    const all = live.entries;
    const kept = recorder();
    // The stream keeps at least the last ringSize entries.
    const stopKept = a.feed.subscribe(all.at(-6)!.id, kept.listener);
    assert.deepEqual(labels(await kept.count(5)), labels(all.slice(-5)), 'recent ids still replay');
    stopKept();
    const resumed = recorder();
    const stopResumed = a.feed.subscribe(all[0]!.id, resumed.listener);
    const [reset] = await resumed.count(1);
    assert.deepEqual([reset!.event.type, reset!.id], ['reset', all.at(-1)!.id]);
    a.feed.emit(opened('after-trim'));
    assert.deepEqual(labels(await resumed.count(2)), ['reset', 'after-trim']);
    stop();
    stopResumed();
  });
});
