/**
 * The 2024-11-05 HTTP+SSE transport on the real server (`startServer`: real TLS, the real app and domain).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { endpointOf, openSse, postMessage } from './helpers/legacy-sse.js';
import { startServer, TOKENS, useServer } from './helpers/server.js';

const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };

describe('MCP over HTTP+SSE (2024-11-05)', () => {
  const s = useServer({ env: { HEARTBEAT_MS: '50' } });

  it('opens with the endpoint event, proxy-proof headers, and heartbeats', async () => {
    const sse = await openSse(s);
    assert.equal(sse.response.headers.get('content-type')?.split(';')[0], 'text/event-stream');
    assert.equal(sse.response.headers.get('x-accel-buffering'), 'no');
    assert.equal(sse.response.headers.get('cache-control'), 'no-cache, no-transform');
    const text = await sse.until((t) => (t.match(/^: ping$/gm) ?? []).length >= 2);
    assert.ok(text.startsWith('event: endpoint\n'), 'the endpoint event comes first');
    assert.match(endpointOf(text), /^messages\?sessionId=[A-Za-z0-9_-]{16,64}$/);
    await sse.cancel();
  });

  it('accepts a message with 202 and answers it as a message event on the stream', async () => {
    const sse = await openSse(s);
    const endpoint = endpointOf(await sse.until((t) => t.includes('event: endpoint')));
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    };
    const res = await postMessage(s, endpoint, init);
    assert.equal(res.status, 202);
    const text = await sse.until((t) => t.includes('"id":1'));
    const reply = JSON.parse(/event: message\ndata: (.*)\n\n/.exec(text)![1]!);
    assert.equal(reply.result.protocolVersion, '2024-11-05');
    assert.equal(reply.result.serverInfo.name, 'task-mcp');
    await sse.cancel();
  });

  it("answers an unknown sessionId, or another caller's, with 404 ENOSESSION", async () => {
    const sse = await openSse(s);
    const endpoint = endpointOf(await sse.until((t) => t.includes('event: endpoint')));
    for (const [url, token] of [
      ['messages?sessionId=AAAAAAAAAAAAAAAAAAAAAAAA', TOKENS.alice],
      [endpoint, TOKENS.bob],
    ] as const) {
      const res = await postMessage(s, url, ping, token);
      assert.equal(res.status, 404);
      assert.equal((await res.json()).code, 'ENOSESSION');
    }
    await sse.cancel();
  });

  it('forgets a session when its client disconnects', async () => {
    const sse = await openSse(s);
    const endpoint = endpointOf(await sse.until((t) => t.includes('event: endpoint')));
    const open = await postMessage(s, endpoint, ping);
    assert.equal(open.status, 202, 'the session is live while its stream is open');
    await sse.cancel();
    // The server learns of the disconnect when the socket closes; poll briefly rather than guess a delay.
    let status = 202;
    for (let i = 0; i < 100 && status !== 404; i++) {
      await sleep(10);
      const res = await postMessage(s, endpoint, ping);
      status = res.status;
      await res.body?.cancel();
    }
    assert.equal(status, 404);
  });

  it('refuses a foreign Origin with 403 before opening a stream', async () => {
    const res = await s.authed('/sse', { headers: { Origin: 'https://evil.example' } });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).code, 'EFORBIDDEN');
  });
});

describe('MCP over HTTP+SSE when the server drains', () => {
  it('sends each stream a shutdown event and ends it', async () => {
    const s = await startServer({ env: { HEARTBEAT_MS: '60000' } });
    try {
      const sse = await openSse(s);
      const endpoint = endpointOf(await sse.until((t) => t.includes('event: endpoint')));
      // What SIGTERM starts: every open stream is told to finish.
      s.server.lifecycle.drain();
      const text = await sse.until(() => false);
      assert.match(text, /event: shutdown\ndata: \{"reason":"server shutting down"\}\n\n$/);
      // No call was in flight, so the stream ended at once; a message posted now is refused by the drain.
      const res = await postMessage(s, endpoint, ping);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { code: string }).code, 'EUNAVAILABLE');
    } finally {
      await s.stop();
    }
  });
});
