/**
 * MCP resource change notifications on the real server (one process, its in-process feed), with the real SDK
 * clients: a 2026-07-28 `subscriptions/listen` stream (v2 client) and an HTTP+SSE session's `resources/subscribe`
 * (v1 client), each told of a change opened and archived, and only of what it asked for. Each revision advertises
 * what it serves: `subscribe` and `listChanged` on 2026-07-28 and HTTP+SSE, neither on a stateless 2025-era
 * `POST /mcp`. The mapping of change events to notifications is checked on its own too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport, SUBSCRIPTION_ID_META_KEY } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { notificationsOf } from '../src/mcp/change-notifications.js';
import { MAX_WATCHED_URIS } from '../src/mcp/resource-subscriptions.js';
import { inbox } from './helpers/inbox.js';
import { addedDelta, checkAllTasks, writeDelta } from './helpers/repo.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

const at = '2026-12-01T12:00:00.000Z';
const headers = { Authorization: `Bearer ${TOKENS.alice}` };

describe('change events as MCP notifications', () => {
  it('maps every change to list_changed and changes://active, and opens and archives to the change’s own URIs', () => {
    const uris = (type: 'change.opened' | 'change.resumed' | 'lock.released' | 'change.archived') =>
      notificationsOf({ type, slug: 'add-search', actor: 'alice', at }).map((e) =>
        e.kind === 'resource_updated' ? e.uri : e.kind,
      );
    const listing = ['resources_list_changed', 'changes://active'];
    const own = ['change://add-search/proposal', 'change://add-search/tasks'];
    assert.deepEqual(uris('change.opened'), [...listing, ...own]);
    assert.deepEqual(uris('change.resumed'), listing);
    assert.deepEqual(uris('lock.released'), listing);
    assert.deepEqual(uris('change.archived'), [...listing, ...own, 'change://add-search/receipt']);
    assert.deepEqual(
      notificationsOf({ type: 'reset', at }).map((e) => e.kind),
      ['resources_list_changed', 'resource_updated'],
    );
    assert.deepEqual(notificationsOf({ type: 'unavailable', at }), []);
  });
});

describe('MCP change notifications on the real server', () => {
  let s: TestServer;
  before(async () => {
    // The bounds test subscribes a hundred times in a row.
    s = await startServer({ env: { RATE_LIMIT_BURST: '1000/1s' } });
  });
  after(() => s.stop());

  const open = async (slug: string): Promise<void> => {
    const res = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ slug, title: `Notify ${slug}` }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const archive = async (slug: string): Promise<void> => {
    await writeDelta(s.repo.root, slug, 'notify', addedDelta('Notify'));
    await checkAllTasks(s.repo.root, slug);
    await s.repo.commit(`feat: ${slug}`);
    const res = await s.authed('/v1/tools/change.archive/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ slug }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  async function modernClient(): Promise<Client> {
    const client = new Client(
      { name: 'listen', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit: { headers } }),
    );
    return client;
  }

  it('2026-07-28: advertises subscribe and listChanged; a subscriptions/listen stream gets what it asked for, stamped', async () => {
    const client = await modernClient();
    try {
      assert.deepEqual(client.getServerCapabilities()?.resources, { subscribe: true, listChanged: true });
      const notes = inbox();
      client.setNotificationHandler('notifications/resources/list_changed', (n) => notes.push(n.method, n.params));
      client.setNotificationHandler('notifications/resources/updated', (n) => notes.push(n.method, n.params));
      const watched = 'change://notify-modern/tasks';
      const subscription = await client.listen({
        resourcesListChanged: true,
        toolsListChanged: true,
        resourceSubscriptions: [watched],
      });
      assert.deepEqual(subscription.honoredFilter, { resourcesListChanged: true, resourceSubscriptions: [watched] });
      await open('notify-modern');
      const got = await notes.until('list_changed and the watched update', (seen) =>
        seen.some((n) => n.params.uri === watched),
      );
      assert.deepEqual(
        got.map((n) => [n.method, n.params.uri]),
        [
          ['notifications/resources/list_changed', undefined],
          ['notifications/resources/updated', watched],
        ],
        'changes://active and the proposal were not asked for',
      );
      for (const n of got)
        assert.ok((n.params._meta as Record<string, unknown>)[SUBSCRIPTION_ID_META_KEY] !== undefined);
      await subscription.close();
      assert.equal(await subscription.closed, 'local');
    } finally {
      await client.close();
    }
  });

  it('a 2025-era POST /mcp is stateless: it advertises neither subscribe nor listChanged', async () => {
    const res = await s.authed('/mcp', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'old', version: '1' } },
      }),
    });
    const text = await res.text();
    const reply = JSON.parse(text.startsWith('{') ? text : /data: (.*)/.exec(text)![1]!) as {
      result: { capabilities: { resources: unknown } };
    };
    assert.deepEqual(reply.result.capabilities.resources, { subscribe: false, listChanged: false });
  });

  it('HTTP+SSE (v1 client): resources/subscribe gets updated for the watched URI, and every session gets list_changed', async () => {
    const client = new V1Client({ name: 'legacy-watch', version: '1' });
    await client.connect(new SSEClientTransport(new URL('/sse', s.url), { fetch: s.fetch, requestInit: { headers } }));
    try {
      assert.deepEqual(client.getServerCapabilities()?.resources, { subscribe: true, listChanged: true });
      const notes = inbox();
      client.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => notes.push(n.method, n.params));
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => notes.push(n.method, n.params));
      const receipt = 'change://notify-legacy/receipt';
      await client.subscribeResource({ uri: receipt });
      await client.subscribeResource({ uri: 'change://notify-legacy/proposal' });
      await client.unsubscribeResource({ uri: 'change://notify-legacy/proposal' });
      await open('notify-legacy');
      await notes.until('list_changed for the open', (seen) => seen.length >= 1);
      await archive('notify-legacy');
      const got = await notes.until('the receipt', (seen) => seen.some((n) => n.params.uri === receipt));
      assert.deepEqual(
        got.map((n) => [n.method, n.params.uri]),
        [
          // opened
          ['notifications/resources/list_changed', undefined],
          // lock.released, then change.archived with its receipt
          ['notifications/resources/list_changed', undefined],
          ['notifications/resources/list_changed', undefined],
          ['notifications/resources/updated', receipt],
        ],
      );
    } finally {
      await client.close();
    }
  });

  it('HTTP+SSE: a URI no template describes is refused, and a session watches a bounded number of URIs', async () => {
    const client = new V1Client({ name: 'legacy-bounds', version: '1' });
    await client.connect(new SSEClientTransport(new URL('/sse', s.url), { fetch: s.fetch, requestInit: { headers } }));
    try {
      await assert.rejects(
        client.subscribeResource({ uri: 'file:///etc/passwd' }),
        (err: { data?: { code?: string } }) => {
          assert.equal(err.data?.code, 'ENOCHANGE');
          return true;
        },
      );
      for (let i = 0; i < MAX_WATCHED_URIS; i++) await client.subscribeResource({ uri: `change://watch-${i}/tasks` });
      await client.subscribeResource({ uri: 'change://watch-0/tasks' });
      await assert.rejects(
        client.subscribeResource({ uri: 'change://one-too-many/tasks' }),
        (err: { data?: { code?: string } }) => {
          assert.equal(err.data?.code, 'EBADINPUT');
          return true;
        },
      );
    } finally {
      await client.close();
    }
  });
});
