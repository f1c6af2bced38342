/**
 * The events route on the real server (`startServer`: real TLS, the real app, domain and event feed, a temp git
 * repository): `retry` first, each change with its sequential id, `Last-Event-ID` replay over a ring of two events,
 * heartbeats every 50 ms, the cleanup of a client that leaves; and, on a server of its own, the last comment every
 * stream gets when the server drains. The changes are made through the invoke route.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { invoke, logLine, readUntil, sseEvents } from './helpers/http-routes.js';
import { startServer, useServer } from './helpers/server.js';

describe('GET /v1/events', () => {
  const s = useServer({ env: { HEARTBEAT_MS: '50', EVENT_RING_SIZE: '2', LOG_LEVEL: 'debug' } });
  const open = (slug: string) =>
    invoke(s, 'change_open', 'application/json', { title: slug, slug }).then((res) => {
      assert.equal(res.status, 200);
      return res.text();
    });
  const subscribe = (headers: Record<string, string> = {}) =>
    s.authed('/v1/events', { headers: { Accept: 'text/event-stream', ...headers } });
  /** The change events of an SSE text: no comments, no `retry`-only block. */
  const changeEvents = (text: string) => sseEvents(text).filter((e) => e.event !== undefined);

  test('sends retry first, then each change with its type and sequential id', async () => {
    const res = await subscribe();
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const requestId = res.headers.get('x-request-id')!;
    assert.ok((await readUntil(res, (text) => text.length > 0)).startsWith('retry: 3000\n\n'));
    await open('aaa');
    await open('bbb');
    const events = changeEvents(await readUntil(res, (text) => text.includes('"bbb"')));
    assert.deepEqual(
      events.map((e) => [e.event, JSON.parse(e.data!).slug, JSON.parse(e.data!).actor]),
      [
        ['change.opened', 'aaa', 'alice'],
        ['change.opened', 'bbb', 'alice'],
      ],
    );
    assert.equal(Number(events[1]!.id), Number(events[0]!.id) + 1);
    await res.body!.cancel();
    assert.equal((await logLine(s, requestId)).transport, 'events');
  });

  test('Last-Event-ID replays what was missed; one older than the ring gets a reset', async () => {
    const live = await subscribe();
    await readUntil(live, (text) => text.length > 0);
    for (const slug of ['r-one', 'r-two', 'r-three']) await open(slug);
    const ids = changeEvents(await readUntil(live, (text) => text.includes('"r-three"'))).map((e) => Number(e.id));
    await live.body!.cancel();
    assert.deepEqual(ids, [ids[0], ids[0]! + 1, ids[0]! + 2]);
    const resume = async (lastEventId: number) => {
      const res = await subscribe({ 'Last-Event-ID': String(lastEventId) });
      const events = changeEvents(await readUntil(res, (text) => changeEvents(text).length > 0));
      await res.body!.cancel();
      return events.map((e) => [e.event, e.id]);
    };
    // The ring holds the last two: resuming after the second replays the third.
    assert.deepEqual(await resume(ids[1]!), [['change.opened', String(ids[2])]]);
    // Resuming before the first would need an event the ring no longer holds.
    assert.deepEqual(await resume(ids[0]! - 1), [['reset', String(ids[2])]]);
  });

  test('heartbeats keep an idle stream alive', async () => {
    const res = await subscribe();
    const text = await readUntil(res, (t) => t.split(': ping\n\n').length > 3);
    assert.ok(text.startsWith('retry: 3000\n\n: ping\n\n'));
    await res.body!.cancel();
  });

  test('a client that goes away is cleaned up', async () => {
    const res = await subscribe();
    const requestId = res.headers.get('x-request-id')!;
    await readUntil(res, (text) => text.length > 0);
    await res.body!.cancel();
    // The writer's one cleanup (which also unsubscribes from the feed) logs why the stream ended.
    await s.waitForLog((l) => l.reqId === requestId && l.msg === 'stream closed by the client');
  });
});

describe('GET /v1/events when the server drains', () => {
  test('ends each stream with a last comment', async () => {
    const own = await startServer();
    try {
      const res = await own.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
      await readUntil(res, (text) => text.length > 0);
      // What SIGTERM starts.
      own.server.lifecycle.drain();
      assert.equal(await readUntil(res), ': server shutting down\n\n');
    } finally {
      await own.stop();
    }
  });
});
