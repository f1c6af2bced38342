/**
 * Every kind of long-lived stream on the real server (`/v1/events` on a cookie session, `/sse`, a 2026-07-28
 * `subscriptions/listen`, invoke over SSE and NDJSON with its call held in flight), with tracing and metrics on,
 * holds a bounded number of `close` listeners on its response while it is open, far from Node's limit of ten, and
 * no `MaxListenersExceededWarning` is emitted. The parts that must know a response ended share one listener
 * (src/streaming/close-hooks.ts); the others are the request log's (pino-http) and, on `/mcp`, the SDK's.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { heldOpens } from './helpers/held-call.js';
import { mcpRequest } from './helpers/mcp-request.js';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

/** pino-http's, the close hooks', and on `/mcp` the SDK's own (toNodeHandler). */
const MAX_CLOSE_LISTENERS = 3;

const json = { 'Content-Type': 'application/json' };
const bearer = { Authorization: `Bearer ${TOKENS.alice}` };

/** A `change.open` call streamed as `accept`; the held service keeps it, and so its stream, open. */
const invoke = (accept: string, slug: string): RequestInit => ({
  method: 'POST',
  headers: { ...bearer, ...json, Accept: accept },
  body: JSON.stringify({ title: `Add ${slug}`, slug }),
});

describe('listeners on an open stream', () => {
  let s: TestServer;
  let receiver: OtlpReceiver;
  let cookie: string;
  const held = heldOpens();
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  /** Each response the server starts, by request path. */
  const responses = new Map<string, ServerResponse>();

  before(async () => {
    process.on('warning', onWarning);
    receiver = await startOtlpReceiver();
    s = await startServer({
      env: {
        HEARTBEAT_MS: '60000',
        COOKIE_SECRET: 'listeners-cookie-secret-0123456789abcdef',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        METRICS_PORT: '0',
      },
      decorateService: held.decorateService,
    });
    s.server.server.on('request', (req, res) => responses.set(req.url!.split('?')[0]!, res));
    const signIn = await s.fetch(`${s.url}/v1/session`, { method: 'POST', headers: bearer });
    assert.equal(signIn.status, 200);
    await signIn.arrayBuffer();
    cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
  });
  after(async () => {
    process.off('warning', onWarning);
    held.release();
    await s.stop();
    await receiver.stop();
  });

  const streams: Array<[string, string, () => RequestInit]> = [
    ['GET /v1/events (cookie session)', '/v1/events', () => ({ headers: { Cookie: cookie } })],
    ['GET /sse', '/sse', () => ({ headers: { ...bearer, Accept: 'text/event-stream' } })],
    [
      'POST /mcp subscriptions/listen',
      '/mcp',
      () => mcpRequest(TOKENS.alice, 'subscriptions/listen', { notifications: { resourcesListChanged: true } }),
    ],
    [
      'POST /v1/tools/change_open/invoke (SSE)',
      '/v1/tools/change_open/invoke',
      () => invoke('text/event-stream', 'listeners-sse'),
    ],
    [
      'POST /v1/tools/change_open/invoke (NDJSON)',
      '/v1/tools/change_open/invoke',
      () => invoke('application/x-ndjson', 'listeners-ndjson'),
    ],
  ];

  for (const [name, path, init] of streams) {
    it(`${name}: at most ${MAX_CLOSE_LISTENERS} close listeners on its response, and no leak warning`, async () => {
      const abort = new AbortController();
      const res = await s.fetch(`${s.url}${path}`, { ...init(), signal: abort.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^(text\/event-stream|application\/x-ndjson)/);
      const reader = res.body!.getReader();
      // The first frame is out: every part of the stream has registered what it undoes at its end.
      assert.equal((await reader.read()).done, false);
      const response = responses.get(path);
      assert.ok(response, `the server saw ${path}`);
      assert.equal(response.closed, false, `the response of ${path} is still open`);
      const open = response.listenerCount('close');
      abort.abort();
      await reader.cancel().catch(() => undefined);
      assert.ok(open <= MAX_CLOSE_LISTENERS, `${open} close listeners on the open response of ${path}`);
      assert.deepEqual(
        warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
        [],
      );
    });
  }
});
