/**
 * Scopes over MCP, with static tokens limited in `TASK_MCP_TOKENS`: `tools/list` lists both tools to anyone, the
 * resources need `changes:read`, the tools `changes:write`, and a message without its scope is refused as the MCP
 * authorization spec says: that one HTTP request gets 403 with the `insufficient_scope` challenge, whose `scope`
 * follows the request's revision, and an HTTP+SSE session it was posted to goes on.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, InsufficientScopeError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { openSession } from './helpers/legacy-sse.js';
import { mcpRequest } from './helpers/mcp-request.js';
import { readRpc } from './helpers/mcp-rpc.js';
import { gitStatus, startServer, TOKENS, type TestServer } from './helpers/server.js';

const READER = 'reader-token-0123456789';
const WRITER = 'writer-token-0123456789';
const ENV = {
  TASK_MCP_TOKENS: `alice:${TOKENS.alice},reader[changes:read]:${READER},writer[changes:write]:${WRITER}`,
};
const OPEN = { name: 'change_open', arguments: { title: 'Not for readers', slug: 'not-for-readers' } };

const challenge = (scope: string, missing: string): string =>
  `Bearer realm="task-mcp", scope="${scope}", error="insufficient_scope", ` +
  `error_description="This request needs the scope ${missing}, which the token does not carry."`;

describe('scopes over MCP', () => {
  let s: TestServer;
  before(async () => (s = await startServer({ env: ENV })));
  after(() => s.stop());

  /** One request at 2026-07-28 (its envelope and headers) as `token`. */
  const modern = (token: string, method: string, params: Record<string, unknown> = {}) =>
    s.fetch(`${s.url}/mcp`, mcpRequest(token, method, params));
  /** One message, or a batch, of a 2025-era client at `revision` (none: 2025-03-26, which sent no header). */
  const legacy = (token: string, body: unknown, revision?: string) =>
    s.fetch(`${s.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        ...(revision && { 'MCP-Protocol-Version': revision }),
      },
      body: JSON.stringify(body),
    });

  it('lists both tools to a token that may call neither, and lets changes:read read', async () => {
    const list = await readRpc(await modern(READER, 'tools/list'));
    assert.equal(list.status, 200);
    const tools = (list.messages[0]!.result!.tools as Array<{ name: string }>).map((t) => t.name);
    assert.deepEqual(tools, ['change_open', 'change_archive']);
    const read = await readRpc(await modern(READER, 'resources/read', { uri: 'changes://active' }));
    assert.equal(read.status, 200);
    assert.equal((read.messages[0]!.result!.contents as Array<{ uri: string }>)[0]!.uri, 'changes://active');
  });

  it("answers a 2026-07-28 tool call without changes:write 403, challenging for the operation's scopes", async () => {
    const res = await modern(READER, 'tools/call', OPEN);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('www-authenticate'), challenge('changes:write', 'changes:write'));
    const body = (await res.json()) as { code: string; details: unknown };
    assert.equal(body.code, 'EINSUFFICIENT_SCOPE');
    assert.deepEqual(body.details, { scopes: ['changes:write'], missing: ['changes:write'] });
    assert.equal(await gitStatus(s.repo), '');
  });

  it('names the scopes the token holds too for a 2025-era client, which asks for exactly what it is told', async () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: OPEN };
    for (const revision of ['2025-06-18', '2025-11-25']) {
      const res = await legacy(READER, call, revision);
      assert.equal(res.status, 403, revision);
      assert.equal(
        res.headers.get('www-authenticate'),
        challenge('changes:read changes:write', 'changes:write'),
        revision,
      );
    }
    // A 2025-03-26 batch is refused whole when one of its messages needs a scope the token lacks.
    const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
    const batch = await legacy(READER, [ping, call]);
    assert.equal(batch.status, 403);
    assert.equal(batch.headers.get('www-authenticate'), challenge('changes:read changes:write', 'changes:write'));
  });

  it('refuses the resources to a token without changes:read, at every revision', async () => {
    for (const [method, params] of [
      ['resources/list', {}],
      ['resources/templates/list', {}],
      ['resources/read', { uri: 'changes://active' }],
    ] as const) {
      const res = await modern(WRITER, method, params);
      assert.equal(res.status, 403, method);
      assert.equal(res.headers.get('www-authenticate'), challenge('changes:read', 'changes:read'), method);
    }
    const res = await legacy(WRITER, { jsonrpc: '2.0', id: 1, method: 'resources/list' }, '2025-11-25');
    assert.equal(res.headers.get('www-authenticate'), challenge('changes:read changes:write', 'changes:read'));
    assert.equal(
      (await readRpc(await modern(WRITER, 'tools/call', { ...OPEN, arguments: { title: 'W', slug: 'by-writer' } })))
        .status,
      200,
    );
  });

  it('surfaces as InsufficientScopeError in the v2 SDK client, which has no OAuth provider to step up with', async () => {
    const client = new Client(
      { name: 'scoped', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    const headers = { Authorization: `Bearer ${READER}` };
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit: { headers } }),
    );
    try {
      assert.equal((await client.listTools()).tools.length, 2);
      const err = await client.callTool(OPEN).then(
        () => assert.fail('a reader opened a change'),
        (caught: unknown) => caught,
      );
      assert.ok(err instanceof InsufficientScopeError, String(err));
      assert.equal(err.requiredScope, 'changes:write');
      assert.equal(err.resourceMetadataUrl, undefined);
      assert.equal((await client.readResource({ uri: 'changes://active' })).contents.length, 1);
    } finally {
      await client.close();
    }
  });

  it('refuses one message of an HTTP+SSE session 403, and the session goes on', async () => {
    const session = await openSession(s, READER);
    try {
      await session.initialize('2025-11-25');
      const refused = await session.post({ jsonrpc: '2.0', id: 'call', method: 'tools/call', params: OPEN });
      assert.equal(refused.status, 403);
      assert.equal(refused.headers.get('www-authenticate'), challenge('changes:read changes:write', 'changes:write'));
      assert.equal(((await refused.json()) as { code: string }).code, 'EINSUFFICIENT_SCOPE');
      const read = await session.request({ id: 'read', method: 'resources/read', params: { uri: 'changes://active' } });
      assert.equal((read.result!.contents as Array<{ uri: string }>)[0]!.uri, 'changes://active');
    } finally {
      await session.cancel();
    }
    assert.equal(existsSync(join(s.repo.root, 'openspec/changes/not-for-readers')), false);
  });
});
