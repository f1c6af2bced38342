import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEventFeed, type FeedEntry } from '../src/events/feed.js';
import type { ChangeEvent } from '../generated/types.gen.js';

const AT = new Date('2026-11-24T12:00:00.000Z');
const opened = (slug: string): ChangeEvent => ({ type: 'change.opened', slug, actor: 'alice', at: AT.toISOString() });
const reset = (id: string): FeedEntry => ({ id, event: { type: 'reset', at: AT.toISOString() } });

/** A feed with `count` events emitted (ids 1..count), and a listener that records entries. */
function feedWith(count: number, ringSize = 3) {
  const feed = createEventFeed({ ringSize, firstId: 1, now: () => AT });
  for (let n = 1; n <= count; n++) feed.emit(opened(`change-${n}`));
  const seen: FeedEntry[] = [];
  return { feed, seen, listener: (entry: FeedEntry) => void seen.push(entry) };
}

const ids = (entries: FeedEntry[]) => entries.map((e) => e.id);

describe('createEventFeed', () => {
  test('gives events sequential ids and delivers them in order', () => {
    const { feed, seen, listener } = feedWith(0);
    feed.subscribe(undefined, listener);
    for (const slug of ['aaa', 'bbb', 'ccc']) feed.emit(opened(slug));
    assert.deepEqual(ids(seen), ['1', '2', '3']);
    assert.deepEqual(
      seen.map((e) => ('slug' in e.event ? e.event.slug : '')),
      ['aaa', 'bbb', 'ccc'],
    );
  });

  test('without Last-Event-ID a subscriber gets only new events', () => {
    const { feed, seen, listener } = feedWith(2);
    feed.subscribe(undefined, listener);
    feed.emit(opened('new'));
    assert.deepEqual(ids(seen), ['3']);
  });

  test('replays what a client missed, then goes live', () => {
    const { feed, seen, listener } = feedWith(5);
    feed.subscribe('3', listener);
    assert.deepEqual(ids(seen), ['4', '5']);
    feed.emit(opened('live'));
    assert.deepEqual(ids(seen), ['4', '5', '6']);
  });

  test('replays the whole ring when the client last saw the event just before it', () => {
    const { feed, seen, listener } = feedWith(5); // ring holds 3, 4, 5
    feed.subscribe('2', listener);
    assert.deepEqual(ids(seen), ['3', '4', '5']);
  });

  test('replays nothing to a client that is up to date', () => {
    const { feed, seen, listener } = feedWith(5);
    feed.subscribe('5', listener);
    assert.deepEqual(seen, []);
  });

  test('sends one reset, with the newest id, when the client last saw an event older than the ring', () => {
    const { feed, seen, listener } = feedWith(5);
    feed.subscribe('1', listener);
    assert.deepEqual(seen, [reset('5')]);
    feed.emit(opened('live'));
    assert.deepEqual(ids(seen), ['5', '6']);
  });

  test('sends a reset for an id it never issued (a newer one from before a restart, or garbage)', () => {
    for (const lastEventId of ['99', 'abc', '', '-1', '1e3']) {
      const { feed, seen, listener } = feedWith(5);
      feed.subscribe(lastEventId, listener);
      assert.deepEqual(seen, [reset('5')], lastEventId);
    }
  });

  test('a reset id resumes cleanly: reconnecting with it replays only what came after', () => {
    const { feed, seen, listener } = feedWith(5);
    feed.subscribe('1', listener);
    feed.emit(opened('after'));
    const again: FeedEntry[] = [];
    feed.subscribe(seen[0]!.id, (entry) => void again.push(entry));
    assert.deepEqual(ids(again), ['6']);
  });

  test('by default ids start from the clock, so ids from an earlier process read as too old', () => {
    const before = Date.now();
    const feed = createEventFeed({ ringSize: 3 });
    const seen: FeedEntry[] = [];
    feed.subscribe(undefined, (entry) => void seen.push(entry));
    feed.emit(opened('first'));
    assert.ok(Number(seen[0]!.id) >= before);
  });

  test('unsubscribe stops delivery', () => {
    const { feed, seen, listener } = feedWith(0);
    const unsubscribe = feed.subscribe(undefined, listener);
    feed.emit(opened('one'));
    unsubscribe();
    feed.emit(opened('two'));
    assert.deepEqual(ids(seen), ['1']);
  });

  test('a listener that throws is dropped and reported; the others still get the event', () => {
    const errors: unknown[] = [];
    const feed = createEventFeed({ ringSize: 3, firstId: 1, onListenerError: (err) => void errors.push(err) });
    let calls = 0;
    feed.subscribe(undefined, () => {
      calls++;
      throw new Error('broken stream');
    });
    const seen: FeedEntry[] = [];
    feed.subscribe(undefined, (entry) => void seen.push(entry));
    feed.emit(opened('one'));
    feed.emit(opened('two'));
    assert.equal(calls, 1);
    assert.equal(errors.length, 1);
    assert.deepEqual(ids(seen), ['1', '2']);
  });

  test('a listener may unsubscribe while an event is delivered', () => {
    const { feed, seen, listener } = feedWith(0);
    const unsubscribe = feed.subscribe(undefined, () => unsubscribe());
    feed.subscribe(undefined, listener);
    feed.emit(opened('one'));
    assert.deepEqual(ids(seen), ['1']);
  });

  test('refuses a ring size or first id that is not a positive integer', () => {
    assert.throws(() => createEventFeed({ ringSize: 0 }), RangeError);
    assert.throws(() => createEventFeed({ ringSize: 2.5 }), RangeError);
    assert.throws(() => createEventFeed({ ringSize: 3, firstId: 0 }), RangeError);
  });
});
