/**
 * Open-stream caps on the real server: per client (IP plus token name) and per instance; every kind of stream
 * holds a slot (the event feed, the HTTP+SSE transport, SSE and NDJSON invokes, SSE-capable `/mcp` exchanges);
 * a slot comes back exactly once however its stream ends (completed, refused mid-way, cut by the client).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readChecked } from './helpers/contract.js';
import { TOKENS, startServer, type TestServer } from './helpers/server.js';

type Who = keyof typeof TOKENS;
const bearer = (who: Who) => ({ Authorization: `Bearer ${TOKENS[who]}` });

interface Open {
  res: Response;
  close(): Promise<void>;
}

describe('open-stream caps', () => {
  let s: TestServer;
  const open: Open[] = [];

  /** Opens `/v1/events` and waits for its first bytes; the caller closes it. */
  async function events(who: Who): Promise<Open> {
    const abort = new AbortController();
    const res = await s.fetch(`${s.url}/v1/events`, { headers: bearer(who), signal: abort.signal });
    if (res.status === 200) await res.body!.getReader().read();
    const stream = { res, close: async () => abort.abort() };
    open.push(stream);
    return stream;
  }
  const closeAll = async () => void (await Promise.all(open.splice(0).map((o) => o.close())));

  /** Retries until the server has seen the closes (they arrive asynchronously). */
  async function eventsOnceFree(who: Who): Promise<Open> {
    for (let i = 0; i < 200; i++) {
      const stream = await events(who);
      if (stream.res.status === 200) return stream;
      await stream.res.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.fail('a stream slot never came back');
  }

  const invoke = (accept: string, body: unknown = { slug: 'capped-change', title: 'Capped' }) =>
    s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: accept },
      body: JSON.stringify(body),
    });

  before(async () => {
    s = await startServer({
      env: { MAX_STREAMS_PER_CLIENT: '2', MAX_STREAMS: '3', RATE_LIMIT_BURST: '10000/1s' },
    });
  });
  after(async () => {
    await closeAll();
    await s.stop();
  });

  it('refuses a client past its cap with a 429 problem, while another client keeps its own', async () => {
    assert.equal((await events('alice')).res.status, 200);
    assert.equal((await events('alice')).res.status, 200);
    const refused = (await events('alice')).res;
    const { body, issues } = await readChecked('getEvents', refused);
    assert.equal(refused.status, 429);
    assert.deepEqual(issues, []);
    assert.equal((body as { code: string }).code, 'ERATELIMIT');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await events('bob')).res.status, 200);
  });

  it('refuses anyone past the instance cap', async () => {
    // alice 2 + bob 1 = MAX_STREAMS.
    const refused = (await events('bob')).res;
    assert.equal(refused.status, 429);
    await refused.arrayBuffer();
  });

  it('counts SSE and NDJSON invokes, HTTP+SSE sessions and SSE-capable /mcp exchanges, not JSON calls', async () => {
    for (const res of [
      await invoke('text/event-stream'),
      await invoke('application/x-ndjson'),
      await s.authed('/sse'),
      await s.authed('/mcp', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      }),
    ]) {
      assert.equal(res.status, 429, res.url);
      await res.arrayBuffer();
    }
    const json = await invoke('application/json');
    assert.equal(json.status, 200);
    await json.arrayBuffer();
  });

  it('gives every slot back exactly once, however its stream ended', async () => {
    await closeAll();
    const first = await eventsOnceFree('alice');
    await first.close();
    await eventsOnceFree('alice');
    await closeAll();
    await eventsOnceFree('alice');
    await closeAll();
    // Streams that complete, streams refused after their slot was taken, streams the client cuts.
    for (let i = 0; i < 3; i++) {
      for (const accept of ['text/event-stream', 'application/x-ndjson']) {
        const done = await invoke(accept);
        assert.equal(done.status, 200);
        await done.text();
        const bad = await invoke(accept, { slug: '../escape', title: 'Bad' });
        assert.equal(bad.status, 400);
        await bad.arrayBuffer();
      }
      const cut = new AbortController();
      const sse = await s.authed('/sse', { signal: cut.signal });
      await sse.body!.getReader().read();
      cut.abort();
    }
    // Exactly the cap is free again: a leak would refuse the first, a double release would admit a third.
    await eventsOnceFree('alice');
    await eventsOnceFree('alice');
    assert.equal((await events('alice')).res.status, 429);
  });
});
