import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SSE_PING, formatSseComment, formatSseEvent } from '../src/streaming/sse.js';

/** A parser following the WHATWG "interpret an event stream" steps, for the fields used here. */
function parseSse(text: string): Array<{ event?: string; id?: string; data: string; retry?: number }> {
  const events: Array<{ event?: string; id?: string; data: string; retry?: number }> = [];
  let current: { event?: string; id?: string; data: string[]; retry?: number } = { data: [] };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      const { data, ...rest } = current;
      if (data.length > 0 || Object.keys(rest).length > 0) events.push({ ...rest, data: data.join('\n') });
      current = { data: [] };
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'data') current.data.push(value);
    else if (name === 'event') current.event = value;
    else if (name === 'id') current.id = value;
    else if (name === 'retry') current.retry = Number(value);
  }
  return events;
}

describe('formatSseEvent', () => {
  test('writes each field on its own line and ends the event with a blank line', () => {
    assert.equal(
      formatSseEvent({ event: 'result', id: '7', retry: 3000, data: '{"a":1}' }),
      'event: result\nid: 7\nretry: 3000\ndata: {"a":1}\n\n',
    );
  });

  test('splits data with LF, CR and CRLF into one data line each', () => {
    assert.equal(formatSseEvent({ data: 'a\nb\rc\r\nd' }), 'data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  test('keeps an empty data field as one empty data line', () => {
    assert.equal(formatSseEvent({ data: '' }), 'data: \n\n');
  });

  for (const bad of ['a\nb', 'a\rb', 'a\r\nb', '\n']) {
    test(`rejects a line break in event or id (${JSON.stringify(bad)})`, () => {
      assert.throws(() => formatSseEvent({ event: bad, data: 'x' }), TypeError);
      assert.throws(() => formatSseEvent({ id: bad, data: 'x' }), TypeError);
    });
  }

  test('rejects a NUL in id, which clients would ignore', () => {
    assert.throws(() => formatSseEvent({ id: 'a\0b', data: 'x' }), TypeError);
  });

  test('rejects a retry that is not a non-negative integer', () => {
    for (const retry of [-1, 1.5, Number.NaN, Infinity]) assert.throws(() => formatSseEvent({ retry }), TypeError);
  });

  test('rejects an event with no field at all', () => {
    assert.throws(() => formatSseEvent({}), TypeError);
  });

  test('round-trips any data through a spec parser, and no field ever gains a line', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (data, event) => {
        fc.pre(!/[\r\n]/.test(event));
        const [parsed, ...rest] = parseSse(formatSseEvent({ event, id: '1', data }));
        assert.equal(rest.length, 0);
        assert.deepEqual(parsed, { event, id: '1', data: data.replace(/\r\n|\r/g, '\n') });
      }),
    );
  });
});

describe('SSE comments', () => {
  test('the heartbeat is a comment line a client ignores', () => {
    assert.equal(SSE_PING, ': ping\n\n');
    assert.deepEqual(parseSse(SSE_PING + formatSseEvent({ data: 'x' })), [{ data: 'x' }]);
  });

  test('formats a comment and rejects a line break in it', () => {
    assert.equal(formatSseComment('bye'), ': bye\n\n');
    assert.throws(() => formatSseComment('a\nevent: forged'), TypeError);
  });
});
