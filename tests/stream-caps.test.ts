/**
 * The two budgets on the real server, each per client (IP plus token name) and per instance: long-lived streams
 * (`/v1/events`, `GET /sse`) and calls in flight (invokes in every framing, `POST /mcp` whatever it accepts). One
 * cannot starve the other, and a slot comes back exactly once however its request ends (completed, refused
 * mid-way, cut by the client).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { readChecked } from './helpers/contract.js';
import { heldOpens } from './helpers/held-call.js';
import { TOKENS, startServer, type TestServer } from './helpers/server.js';
import { within } from './helpers/within.js';

interface Open {
  res: Response;
  close(): Promise<void>;
}

/** Opens `/v1/events` with `token` and waits for its first bytes; `open` collects it for closing. */
async function events(s: TestServer, token: string, open: Open[]): Promise<Open> {
  const abort = new AbortController();
  const res = await s.fetch(`${s.url}/v1/events`, {
    headers: { Authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  if (res.status === 200) await res.body!.getReader().read();
  const stream = { res, close: async () => abort.abort() };
  open.push(stream);
  return stream;
}

/** Asserts a 429 ERATELIMIT problem of `budget` and `scope`, checked against the contract. */
async function assertRefused(res: Response, budget: string, scope: string): Promise<void> {
  const { body, issues } = await readChecked('getEvents', res);
  assert.equal(res.status, 429);
  assert.deepEqual(issues, []);
  const problem = body as { code: string; details: { budget: string; scope: string } };
  assert.equal(problem.code, 'ERATELIMIT');
  assert.equal(problem.details.budget, budget);
  assert.equal(problem.details.scope, scope);
  assert.ok(Number(res.headers.get('retry-after')) >= 1);
}

const tokens = ['ann', 'ben', 'cat', 'dan', 'eve'].map((name) => ({ name, token: `${name}-token-0123456789abcdef` }));

describe('idle event streams do not shut anyone out of MCP', () => {
  let s: TestServer;
  const open: Open[] = [];
  before(async () => {
    s = await startServer({
      env: {
        TASK_MCP_TOKENS: tokens.map(({ name, token }) => `${name}:${token}`).join(','),
        MAX_STREAMS_PER_CLIENT: '5',
        MAX_STREAMS: '20',
        RATE_LIMIT_BURST: '10000/1s',
      },
    });
  });
  after(async () => {
    await Promise.all(open.map((o) => o.close()));
    await s.stop();
  });

  it("leaves an unrelated client's tools/list at 200 when four tokens' streams fill the instance", async () => {
    for (const { token } of tokens.slice(0, 4)) {
      for (let i = 0; i < 5; i++) assert.equal((await events(s, token, open)).res.status, 200);
    }
    const eve = tokens[4]!.token;
    const client = new Client({ name: 'caps-test', version: '1.0.0' });
    const headers = { Authorization: `Bearer ${eve}` };
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit: { headers } }),
    );
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(
        tools.map((tool) => tool.name),
        ['change_open', 'change_archive'],
      );
    } finally {
      await client.close();
    }
    await assertRefused((await events(s, eve, open)).res, 'streams', 'instance');
  });
});

describe('stream and call budgets', () => {
  let s: TestServer;
  const held = heldOpens();
  const open: Open[] = [];
  const closeAll = async () => void (await Promise.all(open.splice(0).map((o) => o.close())));

  /** Retries until the server has seen the closes (they arrive asynchronously). */
  async function eventsOnceFree(): Promise<Open> {
    for (let i = 0; i < 200; i++) {
      const stream = await events(s, TOKENS.alice, open);
      if (stream.res.status === 200) return stream;
      await stream.res.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.fail('a stream slot never came back');
  }

  const invoke = (accept: string, body: unknown = { slug: 'capped-change', title: 'Capped' }) =>
    s.authed('/v1/tools/change.archive/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: accept },
      body: JSON.stringify(body),
    });
  const mcp = (accept: string) =>
    s.authed('/mcp', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: accept },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });

  before(async () => {
    s = await startServer({
      decorateService: held.decorateService,
      env: {
        MAX_STREAMS_PER_CLIENT: '2',
        MAX_STREAMS: '3',
        MAX_CALLS_PER_CLIENT: '1',
        MAX_CALLS: '2',
        RATE_LIMIT_BURST: '10000/1s',
      },
    });
  });
  after(async () => {
    held.release();
    await s.server.lifecycle.idle();
    await closeAll();
    await s.stop();
  });

  it('refuses a client past its stream cap, while another client keeps its own', async () => {
    assert.equal((await events(s, TOKENS.alice, open)).res.status, 200);
    const cut = new AbortController();
    open.push({ res: await s.authed('/sse', { signal: cut.signal }), close: async () => cut.abort() });
    assert.equal(open.at(-1)!.res.status, 200, 'GET /sse draws on the same budget');
    await assertRefused((await events(s, TOKENS.alice, open)).res, 'streams', 'client');
    assert.equal((await events(s, TOKENS.bob, open)).res.status, 200);
    await assertRefused((await events(s, TOKENS.bob, open)).res, 'streams', 'instance');
  });

  it('keeps calls apart: every framing of an invoke and every /mcp POST counts as a call, not a stream', async () => {
    // Every stream slot is taken, yet calls go through (archiving a change that does not exist: 404 in JSON).
    for (const [expected, send] of [
      [404, () => invoke('application/json', { slug: 'nope' })],
      [200, () => invoke('text/event-stream', { slug: 'nope' })],
      [200, () => invoke('application/x-ndjson', { slug: 'nope' })],
      [200, () => mcp('application/json, text/event-stream')],
    ] as const) {
      const res = await send();
      assert.equal(res.status, expected, await res.text());
    }
  });

  it('refuses a call past the call cap while the stream budget is untouched by it', async () => {
    await closeAll();
    const call = s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ slug: 'held-call', title: 'Held' }),
    });
    await within(10_000, 'the held call to start', held.began);
    for (const res of [await invoke('application/x-ndjson'), await mcp('application/json, text/event-stream')]) {
      const { body } = await readChecked('invokeTool', res);
      assert.equal(res.status, 429);
      assert.deepEqual((body as { details: unknown }).details, {
        retryAfter: 1,
        budget: 'calls',
        scope: 'client',
        limit: 1,
      });
    }
    assert.equal((await eventsOnceFree()).res.status, 200, 'a call in flight takes no stream slot');
    held.release();
    assert.equal((await call).status, 200);
  });

  it('gives every slot back exactly once, however its request ended', async () => {
    await closeAll();
    const first = await eventsOnceFree();
    await first.close();
    await eventsOnceFree();
    await closeAll();
    // Calls that complete, calls refused after their slot was taken, streams the client cuts.
    for (let i = 0; i < 3; i++) {
      for (const accept of ['text/event-stream', 'application/x-ndjson']) {
        const done = await invoke(accept, { slug: 'capped-change' });
        assert.equal(done.status, 200);
        await done.text();
        const bad = await invoke(accept, { slug: '../escape' });
        assert.equal(bad.status, 400);
        await bad.arrayBuffer();
      }
      const cut = new AbortController();
      const sse = await s.authed('/sse', { signal: cut.signal });
      await sse.body!.getReader().read();
      cut.abort();
    }
    // Exactly the cap is free again: a leak would refuse the first, a double release would admit a third.
    await eventsOnceFree();
    await eventsOnceFree();
    await assertRefused((await events(s, TOKENS.alice, open)).res, 'streams', 'client');
    // And the one call slot: a leaked call slot would make this a 429.
    const last = await invoke('application/json', { slug: 'capped-change' });
    assert.equal(last.status, 404, await last.text());
  });
});
