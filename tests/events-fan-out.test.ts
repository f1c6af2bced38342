import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createFanOut, isAfter, isStreamId } from '../src/events/fan-out.js';
import type { FeedEntry } from '../src/events/feed.js';

const AT = '2026-11-24T12:00:00.000Z';
const entry = (id: string): FeedEntry => ({
  id,
  event: { type: 'change.opened', slug: `c-${id}`, actor: 'a', at: AT },
});
const reset = (id: string): FeedEntry => ({ id, event: { type: 'reset', at: AT } });
const unavailable = (id: string): FeedEntry => ({ id, event: { type: 'unavailable', at: AT } });

function recording() {
  const seen: FeedEntry[] = [];
  return { seen, listener: (e: FeedEntry) => void seen.push(e), ids: () => seen.map((e) => e.id) };
}

describe('stream ids', () => {
  test('orders by time, then by sequence, numerically', () => {
    assert.ok(isAfter('2-0', '1-9'));
    assert.ok(isAfter('10-0', '9-0'));
    assert.ok(isAfter('5-10', '5-9'));
    assert.ok(!isAfter('5-1', '5-1'));
    assert.ok(!isAfter('1-9', '2-0'));
  });

  test('knows a stream id from anything else', () => {
    assert.deepEqual(
      ['1-0', '1795523254001-12', '1795523254001', 'abc', '1-2-3', '-1-0', '', '1234567890123456-0'].map(isStreamId),
      [true, true, false, false, false, false, false, false],
    );
  });
});

describe('createFanOut', () => {
  test('a live subscriber gets only entries after its position, once each', () => {
    const fan = createFanOut();
    const r = recording();
    fan.add(r.listener, '1-1');
    for (const id of ['1-0', '1-1', '1-2', '1-2', '2-0']) fan.publish(entry(id));
    assert.deepEqual(r.ids(), ['1-2', '2-0']);
  });

  test('holds live entries during the replay, then delivers what the replay did not cover, in order', () => {
    const fan = createFanOut();
    const r = recording();
    const sub = fan.addReplaying(r.listener, '1-0');
    // Live entries that arrive while the replay is read: some the replay also holds, some it does not.
    for (const id of ['1-2', '1-3', '1-4']) fan.publish(entry(id));
    assert.deepEqual(r.ids(), [], 'nothing before the replay');
    fan.replayed(sub, { entries: ['1-1', '1-2', '1-3'].map(entry) });
    fan.publish(entry('1-4'));
    fan.publish(entry('1-5'));
    assert.deepEqual(r.ids(), ['1-1', '1-2', '1-3', '1-4', '1-5']);
  });

  test('a reset moves the subscriber to its id, even from an id "after" every entry', () => {
    const fan = createFanOut();
    const r = recording();
    const sub = fan.addReplaying(r.listener, '999999999999999-0');
    fan.publish(entry('3-0'));
    fan.publish(entry('4-0'));
    fan.replayed(sub, { reset: reset('3-0') });
    assert.deepEqual(
      r.seen.map((e) => [e.event.type, e.id]),
      [
        ['reset', '3-0'],
        ['change.opened', '4-0'],
      ],
    );
  });

  test('ends each subscription with one last entry at its position, and delivers nothing after it', () => {
    const fan = createFanOut();
    const [live, replaying] = [recording(), recording()];
    fan.add(live.listener, '1-0');
    fan.addReplaying(replaying.listener, '0-5');
    fan.publish(entry('2-0'));
    fan.endAll(unavailable);
    fan.publish(entry('3-0'));
    assert.deepEqual(
      live.seen.map((e) => [e.event.type, e.id]),
      [
        ['change.opened', '2-0'],
        ['unavailable', '2-0'],
      ],
    );
    assert.deepEqual(replaying.seen, [unavailable('0-5')]);
  });

  test('a subscriber that unsubscribes during its replay gets nothing more', () => {
    const fan = createFanOut();
    const seen: string[] = [];
    const sub = fan.addReplaying((e) => {
      seen.push(e.id);
      fan.remove(sub);
    }, '1-0');
    fan.publish(entry('1-3'));
    fan.replayed(sub, { entries: [entry('1-1'), entry('1-2')] });
    assert.deepEqual(seen, ['1-1']);
  });

  test('a listener that throws is dropped and reported; the others still get the entry', () => {
    const errors: unknown[] = [];
    const fan = createFanOut((err) => void errors.push(err));
    const r = recording();
    let calls = 0;
    fan.add(() => {
      calls++;
      throw new Error('broken stream');
    }, '1-0');
    fan.add(r.listener, '1-0');
    fan.publish(entry('2-0'));
    fan.publish(entry('3-0'));
    assert.equal(calls, 1);
    assert.equal(errors.length, 1);
    assert.deepEqual(r.ids(), ['2-0', '3-0']);
  });
});
