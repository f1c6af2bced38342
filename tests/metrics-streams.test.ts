/**
 * The stream metrics, recorded where every stream is opened and closed (the stream writer, and the SDK's SSE
 * replies on `/mcp`): streams open by kind, heartbeats' lateness, slow readers cut, and the requests the caps
 * refused by budget and scope.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createMetrics, type Metrics } from '../src/metrics/index.js';
import { createStreamWriter } from '../src/streaming/stream-writer.js';
import { parseExposition, scrape, valueOf, type Sample } from './helpers/exposition.js';
import { heldOpens, type HeldOpens } from './helpers/held-call.js';
import { openSse, type SseStream } from './helpers/legacy-sse.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';
import { until } from './helpers/within.js';

const OPEN = 'task_mcp_open_streams';
const REFUSED = 'task_mcp_cap_refusals_total';

const build = (): Metrics => createMetrics({ callerLabels: false, maxStreams: 10, defaultCollectors: false });
const exposed = async (metrics: Metrics): Promise<Sample[]> => parseExposition((await metrics.expose()).body);

/** A target that takes writes and never finishes one: a reader that stopped reading. */
const stalled = (): Writable => new Writable({ highWaterMark: 1024, write: () => undefined });

describe('stream metrics from the stream writer', () => {
  it('counts a stream open until it closes, and a cut slow reader', async () => {
    const metrics = build();
    const writer = createStreamWriter(stalled(), {
      heartbeatMs: 60_000,
      heartbeat: () => '',
      maxBufferedBytes: 4096,
      probe: metrics.streamProbe('events'),
    });
    assert.equal(valueOf(await exposed(metrics), OPEN, { kind: 'events' }), 1);
    while (writer.send('x'.repeat(1000)));
    assert.equal(await writer.done, 'overflow');
    const after = await exposed(metrics);
    assert.equal(valueOf(after, OPEN, { kind: 'events' }), 0);
    assert.equal(valueOf(after, 'task_mcp_stream_slow_readers_cut_total', { kind: 'events' }), 1);
  });

  it('records how late a heartbeat went out when the event loop was held up', async () => {
    const metrics = build();
    const writer = createStreamWriter(new Writable({ write: (_chunk, _encoding, done) => done() }), {
      heartbeatMs: 10,
      heartbeat: () => ': ping\n\n',
      probe: metrics.streamProbe('invoke_ndjson'),
    });
    const kind = { kind: 'invoke_ndjson' };
    const lag = async (series: string, labels = {}): Promise<number> =>
      valueOf(await exposed(metrics), `task_mcp_stream_heartbeat_lag_seconds_${series}`, { ...kind, ...labels }) ?? 0;
    await until(5000, 'a first heartbeat', async () => (await lag('count')) >= 1);
    const seen = await lag('count');
    // Hold the loop for 120 ms: the next beat, due 10 ms after the last, goes out at least 110 ms late.
    const blockedUntil = performance.now() + 120;
    while (performance.now() < blockedUntil);
    await until(5000, 'a late heartbeat', async () => (await lag('count')) > seen);
    writer.close();
    assert.ok((await lag('sum')) >= 0.11);
    assert.ok((await lag('count')) - (await lag('bucket', { le: '0.1' })) >= 1, 'one beat over 100 ms late');
  });
});

describe('stream metrics on the real server', () => {
  let s: TestServer;
  let held: HeldOpens;
  const open = async (kind: string): Promise<number | undefined> =>
    valueOf(await scrape(s.server.metricsUrl), OPEN, { kind });
  const settles = (kind: string, value: number) =>
    until(5000, `${kind} streams == ${value}`, async () => (await open(kind)) === value);
  const invoke = (accept: string, slug: string) =>
    s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: accept },
      body: JSON.stringify({ title: 'Held', slug }),
    });

  before(async () => {
    held = heldOpens();
    s = await startServer({
      env: { METRICS_PORT: '0', MAX_STREAMS_PER_CLIENT: '2', MAX_CALLS: '3' },
      decorateService: held.decorateService,
    });
  });
  after(() => s.stop());

  it('counts event and HTTP+SSE streams open while they are, by kind', async () => {
    const events = await s.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
    const legacy: SseStream = await openSse(s);
    await legacy.until((text) => text.includes('event: endpoint'));
    assert.equal(events.status, 200);
    await settles('events', 1);
    await settles('legacy_sse', 1);
    await events.body!.cancel();
    await legacy.cancel();
    await settles('events', 0);
    await settles('legacy_sse', 0);
  });

  it('counts invoke streams and /mcp SSE replies open while their calls run', async () => {
    const sse = invoke('text/event-stream', 'held-sse');
    const ndjson = invoke('application/x-ndjson', 'held-ndjson');
    // A 2025-era request: the SDK's stateless fallback answers it as an SSE stream.
    const mcp = s.fetch(`${s.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKENS.alice}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'change_open', arguments: { title: 'Held', slug: 'held-mcp' } },
      }),
    });
    await held.begun(3);
    await settles('invoke_sse', 1);
    await settles('invoke_ndjson', 1);
    await settles('mcp_sse', 1);
    const fourth = await invoke('application/json', 'one-too-many');
    assert.equal(fourth.status, 429, 'MAX_CALLS=3 calls are in flight');
    await fourth.arrayBuffer();
    held.release();
    for (const reply of await Promise.all([sse, ndjson, mcp])) await reply.text();
    await settles('invoke_sse', 0);
    await settles('invoke_ndjson', 0);
    await settles('mcp_sse', 0);
  });

  it('counts the requests a cap refused, by budget and scope', async () => {
    assert.equal(valueOf(await scrape(s.server.metricsUrl), REFUSED, { budget: 'calls', scope: 'instance' }), 1);
    const first = await s.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
    const second = await s.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
    const third = await s.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
    assert.deepEqual([first.status, second.status, third.status], [200, 200, 429]);
    await third.arrayBuffer();
    const samples = await scrape(s.server.metricsUrl);
    assert.equal(valueOf(samples, REFUSED, { budget: 'streams', scope: 'client' }), 1);
    assert.equal(valueOf(samples, REFUSED, { budget: 'calls', scope: 'instance' }), 1, 'the earlier one');
    await first.body!.cancel();
    await second.body!.cancel();
  });
});
