/**
 * What is held open across instances: three instances of the real server (child processes) on one repository and
 * one real `redis-server`, behind the shipped nginx recipe with an upstream of three (round-robin, no stickiness).
 * MCP change notifications on a `subscriptions/listen` stream (the real v2 client) for changes made elsewhere; an
 * HTTP+SSE session (the real v1 `SSEClientTransport`) whose every POST lands on another instance; a session whose
 * instance is killed (SIGKILL), 404 everywhere; the stream caps as one budget, a dead instance's slots given back;
 * a sign-out on one instance ending the session's streams on the others. Changes are made straight at chosen
 * instances, so "through another instance" is certain. The instances are shared by the tests, which run in order;
 * the one that kills an instance starts it again.
 *
 * Needs nginx and redis-server (see README).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { LIFETIME_MS } from '../src/http/shared-budget.js';
import { holdStream, type Held } from './helpers/held-stream.js';
import { startScaleOut, type ScaleOut } from './helpers/scale-out.js';
import { TOKENS } from './helpers/server.js';
import { inbox } from './helpers/inbox.js';
import { until, within } from './helpers/within.js';

/** `MAX_STREAMS_PER_CLIENT` and `MAX_STREAMS` of every instance: one budget for all three. */
const PER_CLIENT = 3;
const TOTAL = 8;
const WAIT_MS = 15_000;

describe('scale-out: sessions and streams across three instances behind nginx', () => {
  let scale: ScaleOut;
  const closers: Array<() => unknown> = [];

  before(async () => {
    scale = await startScaleOut({
      env: {
        MAX_STREAMS_PER_CLIENT: String(PER_CLIENT),
        MAX_STREAMS: String(TOTAL),
        RATE_LIMIT_BURST: '1000/1s',
        RATE_LIMIT_SUSTAINED: '100000/1h',
      },
    });
  });
  // Each test closes what it opened, and stands for clients of its own (the tests stand in for the proxy:
  // TRUST_PROXY=1), so a slot another test is still giving back counts in no cap a test checks.
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });
  after(() => scale?.stop());

  const urls = (): string[] => scale.instances.map((instance) => instance.url);
  const headers = { Authorization: `Bearer ${TOKENS.alice}` };

  /** Opens `slug` as alice straight at `base`. */
  async function openAt(base: string, slug: string): Promise<void> {
    const res = await scale.authed(base, '/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ title: `Across ${slug}`, slug }),
    });
    assert.equal(res.status, 200, await res.text());
  }

  /** Client `n` of a test's own (its address). */
  const as = (n: number): Record<string, string> => ({ 'X-Forwarded-For': `203.0.113.${n}` });

  /** `GET path` at `base` as alice (or with `auth`) from client `n`, held open until the test ends. */
  async function hold(base: string, path: string, n: number, auth: Record<string, string> = headers): Promise<Held> {
    const held = await holdStream(scale.fetch, base + path, { ...auth, ...as(n) });
    closers.push(held.close);
    return held;
  }

  test('a subscriptions/listen stream (v2 client) on one instance gets list_changed for an open made through another', async () => {
    const [a, b, c] = urls() as [string, string, string];
    const client = new Client(
      { name: 'listen-across', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', a), {
        fetch: scale.fetch,
        requestInit: { headers: { ...headers, ...as(1) } },
      }),
    );
    closers.push(() => client.close());
    const notes = inbox();
    client.setNotificationHandler('notifications/resources/list_changed', (n) => notes.push(n.method, n.params));
    client.setNotificationHandler('notifications/resources/updated', (n) => notes.push(n.method, n.params));
    const proposal = 'change://listen-across/proposal';
    const subscription = await client.listen({ resourcesListChanged: true, resourceSubscriptions: [proposal] });
    await openAt(b, 'listen-across');
    await openAt(c, 'listen-elsewhere');
    const got = await notes.until('both opens, notified', (seen) => seen.length >= 3, WAIT_MS);
    assert.deepEqual(
      got.map((n) => [n.method, n.params.uri]),
      [
        ['notifications/resources/list_changed', undefined],
        ['notifications/resources/updated', proposal],
        ['notifications/resources/list_changed', undefined],
      ],
    );
    await subscription.close();
  });

  /**
   * A v1 client on an HTTP+SSE session whose stream is held by `holder` and whose every POST goes to one of the
   * `others` in turn (the endpoint is rewritten), as client `n`: the records of where each POST went.
   */
  async function legacyClient(holder: string, others: string[], n: number) {
    const posted: string[] = [];
    const fetchElsewhere = (url: string | URL, init?: RequestInit): Promise<Response> => {
      if (init?.method !== 'POST') return scale.fetch(url, init);
      const target = new URL(url);
      const other = new URL(others[posted.length % others.length]!);
      target.host = other.host;
      posted.push(other.origin);
      return scale.fetch(target, init);
    };
    const client = new V1Client({ name: 'legacy-across', version: '1' });
    const transport = new SSEClientTransport(new URL('/sse', holder), {
      fetch: fetchElsewhere as typeof fetch,
      requestInit: { headers: { ...headers, ...as(n) } },
    });
    await client.connect(transport);
    closers.push(() => client.close());
    return { client, transport, posted };
  }

  test('an HTTP+SSE session (v1 SSEClientTransport) works when every POST lands on another instance', async () => {
    const [a, b, c] = urls() as [string, string, string];
    const { client, posted } = await legacyClient(a, [b, c], 2);
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((tool) => tool.name),
      ['change_open', 'change_archive'],
    );
    const notes = inbox();
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => notes.push(n.method, n.params));
    const tasks = 'change://legacy-across/tasks';
    await client.subscribeResource({ uri: tasks });
    const opened = (await client.callTool({
      name: 'change_open',
      arguments: { title: 'Legacy across', slug: 'legacy-across' },
    })) as { isError?: boolean; structuredContent?: { created?: boolean } };
    assert.deepEqual([opened.isError, opened.structuredContent?.created], [undefined, true]);
    await notes.until('the watched tasks updated', (seen) => seen.some((n) => n.params.uri === tasks), WAIT_MS);
    assert.ok(!posted.includes(new URL(a).origin), 'no POST reached the instance holding the stream');
    assert.deepEqual(new Set(posted), new Set([new URL(b).origin, new URL(c).origin]));
    await client.close();
  });

  test('an HTTP+SSE session through nginx round-robin, and the same refusals on every instance', async () => {
    const client = new V1Client({ name: 'legacy-nginx', version: '1' });
    await client.connect(
      new SSEClientTransport(new URL('/sse', scale.url), {
        fetch: scale.fetch,
        requestInit: { headers: { ...headers, ...as(3) } },
      }),
    );
    closers.push(() => client.close());
    for (let i = 0; i < 6; i++) assert.equal((await client.listTools()).tools.length, 2);

    const [a, b] = urls() as [string, string];
    const { transport } = await legacyClient(a, [b], 3);
    const endpoint = (transport as unknown as { _endpoint: URL })._endpoint;
    const postAt = async (base: string, body: string, token: string = TOKENS.alice): Promise<[number, unknown]> => {
      const url = new URL(endpoint.pathname + endpoint.search, base);
      const res = await scale.fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body,
      });
      return [res.status, res.status === 202 ? undefined : ((await res.json()) as { code: string }).code];
    };
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 'p', method: 'ping' });
    for (const base of urls()) {
      assert.deepEqual(await postAt(base, ping), [202, undefined], `a ping at ${base}`);
      assert.deepEqual(await postAt(base, '{"jsonrpc":"2.0","id":1}'), [400, 'EBADINPUT'], `junk at ${base}`);
      assert.deepEqual(await postAt(base, ping, TOKENS.bob), [404, 'ENOSESSION'], `bob at ${base}`);
    }
    const unknown = new URL('/messages?sessionId=AAAAAAAAAAAAAAAAAAAAAAAA', b);
    const res = await scale.authed(unknown.origin, unknown.pathname + unknown.search, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: ping,
    });
    assert.deepEqual([res.status, ((await res.json()) as { code: string }).code], [404, 'ENOSESSION']);
  });

  test('the stream caps are one budget across the instances: per client and in all', async () => {
    const [a, b, c] = urls() as [string, string, string];
    const first = [await hold(a, '/v1/events', 4), await hold(b, '/v1/events', 4), await hold(c, '/sse', 4)];
    assert.deepEqual(
      first.map((h) => h.status),
      [200, 200, 200],
    );
    for (const base of urls()) {
      const refused = await hold(base, '/v1/events', 4);
      assert.deepEqual([refused.status, refused.code, refused.scope], [429, 'ERATELIMIT', 'client'], base);
    }
    first[0]!.close();
    await until(WAIT_MS, 'the closed stream given back', async () => {
      const again = await hold(c, '/v1/events', 4);
      again.close();
      return again.status === 200;
    });

    // In all: TOTAL streams over every instance, whoever holds them (two of this test's are still open). Slots
    // of the tests before may still be on their way back: a fresh client is refused only by the total.
    let fresh = 10;
    const filled: Held[] = [];
    await until(WAIT_MS, 'the budget filled', async () => {
      const held = await hold(urls()[fresh % 3]!, '/v1/events', fresh++);
      if (held.status === 200) filled.push(held);
      else assert.deepEqual([held.status, held.scope], [429, 'instance'], 'only the total refuses a fresh client');
      return filled.length === TOTAL - 2;
    });
    for (const base of urls()) {
      const over = await hold(base, '/v1/events', fresh++);
      assert.deepEqual([over.status, over.code, over.scope], [429, 'ERATELIMIT', 'instance'], base);
    }
  });

  test('an instance killed (SIGKILL): its HTTP+SSE session is 404 ENOSESSION everywhere, and its stream slots come back', async () => {
    const [a, b, c] = urls() as [string, string, string];
    const { transport } = await legacyClient(a, [b], 5);
    const endpoint = (transport as unknown as { _endpoint: URL })._endpoint;
    const slots = [await hold(a, '/v1/events', 6), await hold(a, '/v1/events', 6), await hold(b, '/v1/events', 6)];
    assert.deepEqual(
      slots.map((h) => h.status),
      [200, 200, 200],
    );
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 'after', method: 'ping' });
    const postAt = async (base: string): Promise<[number, unknown]> => {
      const res = await scale.authed(base, endpoint.pathname + endpoint.search, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: ping,
      });
      return [res.status, res.status === 202 ? undefined : ((await res.json()) as { code: string }).code];
    };
    assert.deepEqual(await postAt(c), [202, undefined]);

    await scale.instances[0]!.kill();
    // Redis learns at once that its connections are gone; a reply in flight may still say 202 before that.
    await until(WAIT_MS, 'the session refused on the others', async () => (await postAt(b))[0] === 404);
    assert.deepEqual(
      [await postAt(b), await postAt(c)],
      [
        [404, 'ENOSESSION'],
        [404, 'ENOSESSION'],
      ],
    );

    // The dead instance's two slots stop counting once its beat lapses.
    const refused = await hold(c, '/v1/events', 6);
    assert.deepEqual([refused.status, refused.scope], [429, 'client']);
    await until(LIFETIME_MS + WAIT_MS, 'the dead instance’s slots given back', async () => {
      const again = await hold(c, '/v1/events', 6);
      return again.status === 200;
    });
    await scale.instances[0]!.restart();
  });

  test('a sign-out on one instance closes the session’s streams held on the others', async () => {
    const [a, b, c] = urls() as [string, string, string];
    const signIn = await scale.authed(b, '/v1/session', { method: 'POST' });
    assert.equal(signIn.status, 200);
    await signIn.arrayBuffer();
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const feed = await hold(a, '/v1/events', 7, { Cookie: cookie });
    const session = await hold(c, '/sse', 7, { Cookie: cookie });
    assert.deepEqual([feed.status, session.status], [200, 200]);
    const out = await scale.fetch(`${b}/v1/session`, { method: 'DELETE', headers: { Cookie: cookie } });
    assert.equal(out.status, 204);
    const endings = await within(WAIT_MS, 'the streams on a and c ending', Promise.all([feed.ended, session.ended]));
    // A signed-out stream is cut (its connection closed), as on the instance that served the sign-out.
    assert.deepEqual(endings, ['terminated', 'terminated']);
    const again = await scale.fetch(`${a}/v1/events`, { headers: { Cookie: cookie } });
    assert.deepEqual([again.status, ((await again.json()) as { code: string }).code], [401, 'EAUTH']);
  });
});
