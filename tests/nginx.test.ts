/**
 * The shipped nginx recipe (examples/nginx/) in front of the real server: Debian's nginx runs the files as they
 * ship, with only the site snippets templated (ports, certificate paths, the stream timeout), and real clients go
 * through it over TLS. Needs /usr/sbin/nginx (`apt-get install nginx`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as connectHttp2 } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { startProxy, type Proxy } from './helpers/nginx.js';
import { checkAllTasks, writeDelta, addedDelta } from './helpers/repo.js';
import type { ChangeService } from '../src/changes/types.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';

const auth = { Authorization: `Bearer ${TOKENS.alice}` };
const lowerCase = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

/** One piece of a stream and when it arrived (ms since the request was sent). */
interface Arrival {
  at: number;
  text: string;
}

/**
 * Reads a response body, timing each complete frame (SSE: up to a blank line; NDJSON: up to LF), until `done`
 * says so or the body ends. `ended` tells whether the server or proxy closed it.
 */
async function readFrames(
  response: Response,
  sentAt: number,
  separator: '\n\n' | '\n',
  done: (frames: Arrival[]) => boolean,
): Promise<{ frames: Arrival[]; ended: boolean }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const frames: Arrival[] = [];
  let pending = '';
  let ended = false;
  while (!done(frames)) {
    const { value, done: eof } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (eof) {
      ended = true;
      break;
    }
    pending += value;
    const at = performance.now() - sentAt;
    for (let end = pending.indexOf(separator); end !== -1; end = pending.indexOf(separator)) {
      frames.push({ at, text: pending.slice(0, end) });
      pending = pending.slice(end + separator.length);
    }
  }
  await reader.cancel().catch(() => undefined);
  return { frames, ended };
}

const gaps = (frames: Arrival[]): number[] => frames.slice(1).map((f, i) => f.at - frames[i]!.at);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (values: number[]): number[] => values.map((v) => Math.round(v));

/**
 * The streamed archive below must last several heartbeats, as it did while OpenSpec ran as two CLI processes; its
 * warm worker (issue 16) finishes within one, so the call waits `ms` before the real archive runs.
 */
const lastingArchive =
  (ms: number) =>
  (service: ChangeService): ChangeService => ({
    ...service,
    archive: async (input, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return service.archive(input, ctx);
    },
  });

describe('nginx recipe (examples/nginx) in front of task-mcp', () => {
  const HEARTBEAT_MS = 250;
  let server: TestServer;
  let proxy: Proxy;
  let fetch: typeof globalThis.fetch;

  before(async () => {
    server = await startServer({
      plain: true,
      env: { HEARTBEAT_MS: String(HEARTBEAT_MS), TRUST_PROXY: '1' },
      decorateService: lastingArchive(3 * HEARTBEAT_MS),
    });
    proxy = await startProxy([server.url]);
    fetch = (await testCertificate()).fetch;
  });
  after(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  it('passes /healthz and /readyz through', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(proxy.url + path);
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
    }
  });

  it('offers HTTP/2 to clients and streams /v1/events over it', async () => {
    const { cert } = await testCertificate();
    const session = connectHttp2(proxy.url, { ca: cert });
    try {
      await once(session, 'connect');
      assert.equal(session.alpnProtocol, 'h2');
      const stream = session.request({ ':path': '/v1/events', accept: 'text/event-stream', ...lowerCase(auth) });
      const [headers] = (await once(stream, 'response')) as [Record<string, string | number>];
      assert.equal(headers[':status'], 200);
      let text = '';
      stream.setEncoding('utf8');
      for await (const chunk of stream) {
        text += chunk as string;
        if (text.includes(': ping')) break;
      }
      assert.match(text, /^retry: \d+\n\n/);
      stream.close();
    } finally {
      session.close();
    }
  });

  it('delivers /v1/events heartbeats one by one, spaced by the heartbeat, not batched', async () => {
    const sentAt = performance.now();
    const res = await fetch(`${proxy.url}/v1/events`, { headers: { ...auth, Accept: 'text/event-stream' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-accel-buffering'), null, 'nginx consumes X-Accel-Buffering');
    const { frames } = await readFrames(
      res,
      sentAt,
      '\n\n',
      (f) => f.filter((x) => x.text.startsWith(':')).length >= 5,
    );
    const beats = frames.filter((f) => f.text.startsWith(':'));
    const spacing = gaps(beats);
    console.log(`nginx /v1/events heartbeat arrivals (ms): ${round(beats.map((b) => b.at)).join(', ')}`);
    // Batched delivery would bring them together (gaps near 0) at the end; one by one, they come a beat apart.
    assert.ok(beats[0]!.at < 3 * HEARTBEAT_MS, `the first heartbeat came at ${beats[0]!.at} ms`);
    assert.ok(median(spacing) > HEARTBEAT_MS / 2, `heartbeat gaps ${round(spacing).join(', ')} ms`);
    assert.ok(Math.min(...spacing) > HEARTBEAT_MS / 5, `heartbeat gaps ${round(spacing).join(', ')} ms`);
  });

  for (const [accept, separator] of [
    ['text/event-stream', '\n\n'],
    ['application/x-ndjson', '\n'],
  ] as const) {
    it(`streams a change.archive call as ${accept} event by event`, async () => {
      const slug = `proxied-${accept === 'text/event-stream' ? 'sse' : 'ndjson'}`;
      const open = await fetch(`${proxy.url}/v1/tools/change.open/invoke`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ title: `Proxied ${slug}`, slug }),
      });
      assert.equal(open.status, 200, await open.clone().text());
      await writeDelta(server.repo.root, slug, 'proxied', addedDelta(`Serve ${slug} through nginx`));
      await checkAllTasks(server.repo.root, slug);

      const sentAt = performance.now();
      const res = await fetch(`${proxy.url}/v1/tools/change.archive/invoke`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json', Accept: accept },
        body: JSON.stringify({ slug }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type')?.split(';')[0], accept);
      const { frames, ended } = await readFrames(res, sentAt, separator, () => false);
      assert.ok(ended);
      const events = frames.filter((f) => !f.text.startsWith(':') && !f.text.includes('"heartbeat"'));
      const kinds = events.map((f) =>
        separator === '\n' ? (JSON.parse(f.text) as { type: string }).type : /^event: (\S+)/.exec(f.text)?.[1],
      );
      console.log(
        `nginx ${accept} change.archive arrivals (ms): ${frames.map((f, i) => `${kinds[events.indexOf(f)] ?? 'heartbeat'}@${Math.round(frames[i]!.at)}`).join(', ')}`,
      );
      assert.equal(kinds[0], 'start');
      assert.ok(kinds.includes('result'), `the archive succeeded: ${events.at(-1)?.text}`);
      assert.ok(kinds.includes('progress'));
      // The call lasts several heartbeats (OpenSpec CLI runs); batched, everything would arrive at its end.
      const first = frames[0]!.at;
      const last = frames.at(-1)!.at;
      const arrivalMoments = new Set(frames.map((f) => Math.round(f.at / 10))).size;
      assert.ok(last - first > HEARTBEAT_MS, `frames spread over ${Math.round(last - first)} ms only`);
      assert.ok(first < (last - first) / 2 + 50, `start came at ${Math.round(first)} ms of ${Math.round(last)} ms`);
      assert.ok(arrivalMoments >= 4, `frames arrived at ${arrivalMoments} distinct moments`);
    });
  }

  it('carries MCP Streamable HTTP (v2 client) and a tool call', async () => {
    const client = new Client(
      { name: 'via-nginx', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', proxy.url), { fetch, requestInit: { headers: auth } }),
    );
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'change_open'));
    const result = (await client.callTool({
      name: 'change_open',
      arguments: { title: 'Via nginx streamable', slug: 'via-nginx-streamable' },
    })) as { isError?: boolean };
    assert.notEqual(result.isError, true);
    await client.close();
  });

  it('carries the MCP HTTP+SSE transport (v1 client) and a tool call', async () => {
    const client = new V1Client({ name: 'via-nginx', version: '1' });
    await client.connect(new SSEClientTransport(new URL('/sse', proxy.url), { fetch, requestInit: { headers: auth } }));
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'change_open'));
    const result = await client.callTool({
      name: 'change_open',
      arguments: { title: 'Via nginx legacy', slug: 'via-nginx-legacy' },
    });
    assert.notEqual(result.isError, true);
    await client.close();
  });

  it('refuses a body over client_max_body_size at the proxy', async () => {
    const res = await fetch(`${proxy.url}/v1/tools/change.open/invoke`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'x', slug: 'too-big', rationale: 'x'.repeat(2 * 1024 * 1024) }),
    });
    assert.equal(res.status, 413);
    await res.body?.cancel();
  });

  it("shows the real client address to the server (the rate limiter and log key), not nginx's or a forged one", async () => {
    // nginx reaches the upstream from 127.0.0.1; the client connects from other loopback addresses and sends a
    // forged X-Forwarded-For, which TRUST_PROXY=1 must ignore in favour of the entry nginx appended.
    const { cert } = await testCertificate();
    for (const source of ['127.0.0.3', '127.0.0.4']) {
      const dispatcher = new Agent({ localAddress: source, connect: { ca: cert } });
      const requestId = `nginx-ip-${source}`;
      const res = await undiciFetch(`${proxy.url}/healthz`, {
        dispatcher,
        headers: { 'X-Request-Id': requestId, 'X-Forwarded-For': '203.0.113.9' },
      });
      assert.equal(res.status, 200);
      await res.text();
      await dispatcher.close();
      const line = await server.waitForLog((record) => record.reqId === requestId);
      assert.equal(line.ip, source, JSON.stringify(line));
    }
  });
});

describe('nginx stream timeout and heartbeats', () => {
  const READ_TIMEOUT_MS = 1000;
  const openIdleEvents = async (heartbeatMs: number, lifetimeMs: number) => {
    const server = await startServer({ plain: true, env: { HEARTBEAT_MS: String(heartbeatMs) } });
    const proxy = await startProxy([server.url], { readTimeout: `${READ_TIMEOUT_MS}ms` });
    try {
      const { fetch } = await testCertificate();
      const sentAt = performance.now();
      const res = await fetch(`${proxy.url}/v1/events`, { headers: { ...auth, Accept: 'text/event-stream' } });
      assert.equal(res.status, 200);
      const result = await readFrames(res, sentAt, '\n\n', (f) => f.length > 0 && f.at(-1)!.at > lifetimeMs);
      return { ...result, lastAt: result.frames.at(-1)?.at ?? 0, elapsed: performance.now() - sentAt };
    } finally {
      await proxy.stop();
      await server.stop();
    }
  };

  it('keeps an idle /v1/events stream open past proxy_read_timeout while heartbeats flow', async () => {
    const { ended, elapsed } = await openIdleEvents(300, 3 * READ_TIMEOUT_MS);
    assert.equal(ended, false, `the stream was cut after ${Math.round(elapsed)} ms`);
    assert.ok(elapsed > 3 * READ_TIMEOUT_MS);
  });

  it('has nginx cut an idle /v1/events stream at proxy_read_timeout when heartbeats are slower', async () => {
    const { ended, elapsed } = await openIdleEvents(10_000, 3 * READ_TIMEOUT_MS);
    assert.equal(ended, true);
    assert.ok(elapsed < 3 * READ_TIMEOUT_MS, `cut after ${Math.round(elapsed)} ms`);
  });
});

describe('nginx with proxy buffering left on (the recipe minus proxy_buffering off)', () => {
  it('still streams, because task-mcp sends X-Accel-Buffering: no', async () => {
    const heartbeatMs = 250;
    const server = await startServer({ plain: true, env: { HEARTBEAT_MS: String(heartbeatMs) } });
    const proxy = await startProxy([server.url], { bufferingOn: true });
    try {
      const { fetch } = await testCertificate();
      const sentAt = performance.now();
      const res = await fetch(`${proxy.url}/v1/events`, { headers: { ...auth, Accept: 'text/event-stream' } });
      const { frames } = await readFrames(
        res,
        sentAt,
        '\n\n',
        (f) => f.filter((x) => x.text.startsWith(':')).length >= 4,
      );
      const beats = frames.filter((f) => f.text.startsWith(':'));
      console.log(`nginx (buffering on) heartbeat arrivals (ms): ${round(beats.map((b) => b.at)).join(', ')}`);
      assert.ok(median(gaps(beats)) > heartbeatMs / 2, `heartbeat gaps ${round(gaps(beats)).join(', ')} ms`);
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });
});
