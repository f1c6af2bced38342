/**
 * A stream's response keeps no copy of the headers it sent (`dropSentHeaders`, src/streaming/stream-writer.ts):
 * the client still receives every header set before the stream opened, and the response, which a stream holds for
 * hours, answers `getHeaderNames()` with nothing once they are out.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, test } from 'node:test';
import Koa from 'koa';
import type { RequestState } from '../src/http/handler.js';
import { openKoaStream } from '../src/http/koa-stream.js';
import { SSE_PING } from '../src/streaming/sse.js';
import { openResponseStream } from '../src/streaming/stream-writer.js';
import { within } from './helpers/within.js';

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((server) => server.close().closeAllConnections()));

const options = { heartbeatMs: 60_000, heartbeat: () => SSE_PING };

/** Listens on 127.0.0.1; resolves with the headers the client got and what the server's response still holds. */
async function open(server: Server, held: Promise<string[]>): Promise<{ got: IncomingMessage; held: string[] }> {
  servers.push(server.listen(0, '127.0.0.1'));
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const got = await within(
    5_000,
    'the stream opens',
    new Promise<IncomingMessage>((r) => get(`http://127.0.0.1:${port}/`, r)),
  );
  return { got, held: await within(5_000, 'the server side', held) };
}

test('a node:http stream sends the headers set before it and keeps none of them', async () => {
  let report!: (names: string[]) => void;
  const held = new Promise<string[]>((resolve) => (report = resolve));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('X-Request-Id', 'sent-1');
    openResponseStream(req, res, 'text/event-stream', options);
    report(res.getHeaderNames());
  });
  const { got, held: names } = await open(server, held);
  assert.equal(got.headers['x-request-id'], 'sent-1');
  assert.equal(got.headers['content-type'], 'text/event-stream');
  assert.equal(got.headers['cache-control'], 'no-cache, no-transform');
  assert.deepEqual(names, []);
});

test('a Koa stream sends the headers set before it and keeps none of them', async () => {
  let report!: (names: string[]) => void;
  const held = new Promise<string[]>((resolve) => (report = resolve));
  const app = new Koa<RequestState>();
  app.use((ctx) => {
    ctx.set('X-Request-Id', 'sent-2');
    ctx.vary('Origin');
    openKoaStream(ctx, 'text/event-stream', options);
    report(ctx.res.getHeaderNames());
  });
  const { got, held: names } = await open(createServer(app.callback()), held);
  assert.equal(got.headers['x-request-id'], 'sent-2');
  assert.equal(got.headers['vary'], 'Origin');
  assert.equal(got.headers['content-type'], 'text/event-stream');
  assert.equal(got.headers['x-accel-buffering'], 'no');
  assert.deepEqual(names, []);
});
