/**
 * What an open Koa stream lets go of: once its headers are out, nothing the stream holds for its lifetime (Koa's
 * own wait for the response to end, the request metrics' `close` hook) keeps the request's Koa context, which an
 * idle `/v1/events` stream would otherwise hold for hours. Garbage is collected for real (`gc` exposed at run time)
 * and the context watched through a `WeakRef`.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Koa, { type Middleware } from 'koa';
import type { AppContext, RequestState } from '../src/http/handler.js';
import { httpMetrics } from '../src/http/http-metrics.js';
import { openKoaStream } from '../src/http/koa-stream.js';
import { createSessionStreams } from '../src/http/session-streams.js';
import { httpTracing } from '../src/http/http-tracing.js';
import { createOtelTracing } from '../src/tracing/otel.js';
import type { Metrics } from '../src/metrics/index.js';
import { SSE_PING } from '../src/streaming/sse.js';
import { until, within } from './helpers/within.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

type Recorded = Parameters<Metrics['httpRequest']>[0];

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((server) => server.close().closeAllConnections()));

/** Listener counts of a response and its socket, for the events Koa's wait for the end listens to. */
const countsOf = (ctx: AppContext): number[] => [
  ctx.res.listenerCount('end'),
  ctx.res.listenerCount('finish'),
  ctx.socket.listenerCount('error'),
  ctx.socket.listenerCount('close'),
];

/**
 * A Koa app with the request metrics (and `gate`, when given) in front of a route that opens a stream; `held` watches each context, and
 * `listeners` has each response's `countsOf` before and after its stream opened.
 */
async function streamingApp(gate?: Middleware<RequestState>): Promise<{
  port: number;
  held: Array<WeakRef<AppContext>>;
  recorded: Recorded[];
  listeners: Array<{ before: number[]; after: number[] }>;
}> {
  const held: Array<WeakRef<AppContext>> = [];
  const recorded: Recorded[] = [];
  const listeners: Array<{ before: number[]; after: number[] }> = [];
  const app = new Koa<RequestState>();
  app.use((ctx, next) => {
    ctx.state.bytesSent = () => 0;
    return next();
  });
  app.use(httpMetrics({ httpRequest: (record) => void recorded.push(record), authRefused: () => undefined }));
  if (gate) app.use(gate);
  app.use((ctx) => {
    held.push(new WeakRef(ctx));
    const before = countsOf(ctx);
    openKoaStream(ctx, 'text/event-stream', { heartbeatMs: 60_000, heartbeat: () => SSE_PING }).send(': hello\n\n');
    listeners.push({ before, after: countsOf(ctx) });
  });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, held, recorded, listeners };
}

/** Collects garbage once every pending job has let go of what it held (a `WeakRef` target lives through its job). */
async function collect(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  gc();
}

test('an open stream holds no Koa context, and its request is still recorded when it closes', async () => {
  const { port, held, recorded } = await streamingApp();
  const opened = new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/v1/events`, resolve));
  const res = await within(5_000, 'the stream opens', opened);
  await within(5_000, 'the first frame', once(res, 'data'));

  await collect();
  assert.equal(held.length, 1);
  assert.equal(held[0]!.deref(), undefined, 'the context was collected while the stream is open');
  assert.equal(recorded.length, 0, 'nothing recorded while the stream is open');

  res.destroy();
  await until(5_000, 'the request recorded', () => recorded.length > 0);
  assert.equal(recorded.length, 1);
  const { seconds, ...record } = recorded[0]!;
  assert.deepEqual(record, { route: '/v1/events', method: 'GET', status: 200, bytes: 0 });
  assert.ok(seconds >= 0);
});

test("Koa's wait for the end of an open stream takes its listeners off the response and the socket", async () => {
  const { port, listeners } = await streamingApp();
  const opened = new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/v1/events`, resolve));
  const res = await within(5_000, 'the stream opens', opened);
  assert.equal(res.statusCode, 200);
  assert.equal(listeners.length, 1);
  const { before, after } = listeners[0]!;
  // on-finished listens for `end` and `finish` on the response, `error` and `close` on the socket: one each.
  assert.deepEqual(
    after,
    before.map((count) => count - 1),
  );
  assert.equal(after[0], 0);
  res.destroy();
});

test("a cookie session's open stream holds no Koa context, and its sign-out still ends it", async () => {
  const sessions = createSessionStreams({ logger: { warn: () => undefined } });
  const gate = sessions.gate('getEvents')!;
  const signedIn: Middleware<RequestState> = (ctx, next) => {
    ctx.state.caller = { name: 'alice', scopes: new Set(), via: 'cookie', session: 'session-1' };
    return gate(ctx, next);
  };
  const { port, held } = await streamingApp(signedIn);
  const opened = new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/v1/events`, resolve));
  const res = await within(5_000, 'the stream opens', opened);
  await within(5_000, 'the first frame', once(res, 'data'));

  await collect();
  assert.equal(held[0]!.deref(), undefined, 'the context was collected while the stream is open');
  // The sign-out destroys the stream, so the client's response ends aborted.
  const aborted = once(res, 'error');
  assert.equal(sessions.end('session-1'), 1);
  const [err] = (await within(5_000, 'the stream ends', aborted)) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNRESET');
  sessions.close();
});

test("a traced open stream holds no Koa context: its span's close hook holds the response", async () => {
  // No collector listens on port 9: spans are only made and ended here, never looked at.
  const tracing = createOtelTracing(
    {
      url: 'http://127.0.0.1:9/v1/traces',
      headers: {},
      timeoutMs: 1000,
      scheduleDelayMs: 60_000,
      serviceName: 'task-mcp-test',
      resourceAttributes: {},
      sampler: 'always_on',
      samplerRatio: 1,
    },
    { version: '0', onExportChange: () => undefined },
  );
  try {
    const { port, held } = await streamingApp(httpTracing(tracing));
    const opened = new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/v1/events`, resolve));
    const res = await within(5_000, 'the stream opens', opened);
    await within(5_000, 'the first frame', once(res, 'data'));
    await collect();
    assert.equal(held[0]!.deref(), undefined, 'the context was collected while the stream is open');
    res.destroy();
  } finally {
    await tracing.shutdown();
  }
});
