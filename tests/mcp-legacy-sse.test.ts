import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startHarness, TOKENS, type Harness } from './helpers/mcp-harness.js';

interface Stream {
  response: Response;
  /** Reads until `predicate` holds for the text received so far. */
  until(predicate: (text: string) => boolean): Promise<string>;
  cancel(): Promise<void>;
}

async function openSse(h: Harness, token: string = TOKENS.alice): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(`${h.origin}/sse`, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  return {
    response,
    async until(predicate) {
      while (!predicate(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      return text;
    },
    async cancel() {
      controller.abort();
      await reader.cancel().catch(() => undefined);
    },
  };
}

async function settled(h: Harness, sessions: number): Promise<void> {
  for (let i = 0; i < 100 && h.routes.openSessions() !== sessions; i++) await sleep(10);
  assert.equal(h.routes.openSessions(), sessions);
}

const endpointOf = (text: string): string => /event: endpoint\ndata: (\S+)\n\n/.exec(text)![1]!;

const postMessage = (h: Harness, endpoint: string, message: unknown, token: string = TOKENS.alice) =>
  fetch(new URL(endpoint, `${h.origin}/sse`), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(message),
  });

describe('MCP over HTTP+SSE (2024-11-05)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ heartbeatMs: 50 });
  });
  after(() => h.close());

  it('opens with the endpoint event, proxy-proof headers, and heartbeats', async () => {
    const sse = await openSse(h);
    assert.equal(sse.response.headers.get('content-type')?.split(';')[0], 'text/event-stream');
    assert.equal(sse.response.headers.get('x-accel-buffering'), 'no');
    assert.equal(sse.response.headers.get('cache-control'), 'no-cache, no-transform');
    const text = await sse.until((t) => (t.match(/^: heartbeat$/gm) ?? []).length >= 2);
    assert.ok(text.startsWith('event: endpoint\n'), 'the endpoint event comes first');
    assert.match(endpointOf(text), /^messages\?sessionId=[A-Za-z0-9_-]{16,64}$/);
    await sse.cancel();
  });

  it('accepts a message with 202 and answers it as a message event on the stream', async () => {
    const sse = await openSse(h);
    const endpoint = endpointOf(await sse.until((t) => t.includes('event: endpoint')));
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    };
    const res = await postMessage(h, endpoint, init);
    assert.equal(res.status, 202);
    const text = await sse.until((t) => t.includes('"id":1'));
    const reply = JSON.parse(/event: message\ndata: (.*)\n\n/.exec(text)![1]!);
    assert.equal(reply.result.protocolVersion, '2024-11-05');
    assert.equal(reply.result.serverInfo.name, 'task-mcp');
    await sse.cancel();
  });

  it("answers an unknown sessionId, or another caller's, with 404 ENOSESSION", async () => {
    const sse = await openSse(h);
    const endpoint = endpointOf(await sse.until((t) => t.includes('event: endpoint')));
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    for (const [url, token] of [
      ['messages?sessionId=AAAAAAAAAAAAAAAAAAAAAAAA', TOKENS.alice],
      [endpoint, TOKENS.bob],
    ] as const) {
      const res = await postMessage(h, url, ping, token);
      assert.equal(res.status, 404);
      assert.equal((await res.json()).code, 'ENOSESSION');
    }
    await sse.cancel();
  });

  it('forgets a session when its client disconnects', async () => {
    await settled(h, 0); // the earlier tests' streams, cancelled, are going away too
    const before = h.routes.openSessions();
    const sse = await openSse(h);
    const endpoint = endpointOf(await sse.until((t) => t.includes('event: endpoint')));
    assert.equal(h.routes.openSessions(), before + 1);
    await sse.cancel();
    await settled(h, before);
    const res = await postMessage(h, endpoint, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(res.status, 404);
  });

  it('refuses a foreign Origin with 403 before opening a stream', async () => {
    const res = await fetch(`${h.origin}/sse`, {
      headers: { Authorization: `Bearer ${TOKENS.alice}`, Origin: 'https://evil.example' },
    });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).code, 'EFORBIDDEN');
  });

  it('closeAll sends a shutdown event and ends every stream', async () => {
    const own = await startHarness({ heartbeatMs: 60_000 });
    try {
      const sse = await openSse(own);
      await sse.until((t) => t.includes('event: endpoint'));
      await own.routes.closeAll();
      const text = await sse.until(() => false);
      assert.match(text, /event: shutdown\ndata: \{"reason":"server shutting down"\}\n\n$/);
      assert.equal(own.routes.openSessions(), 0);
    } finally {
      await own.close();
    }
  });
});
