/**
 * The Messages API path, end to end on our side: the example request's MCP server entry, pointed at a real TLS
 * server, driven by the official SDK clients the way the connector drives it (list, then call what the model asked).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { createLayout } from '../src/changes/layout.js';
import { createOpenSpecCli } from '../src/changes/openspec-cli.js';
import { gitStatus, startServer, TOKENS, type TestServer } from './helpers/server.js';

interface ExampleRequest {
  mcp_servers: { type: string; url: string; name: string; authorization_token: string }[];
  tools: { type: string; mcp_server_name: string; configs?: Record<string, { enabled?: boolean }> }[];
}

const ANTHROPIC_TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

interface ToolClient {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

describe('Messages API MCP connector path over HTTPS', () => {
  let s: TestServer;
  let example: ExampleRequest;
  let serverUrl: URL;
  let configured: string[];
  let headers: Record<string, string>;

  before(async () => {
    example = JSON.parse(await readFile(new URL('../examples/messages_api_request.json', import.meta.url), 'utf8'));
    s = await startServer();
    // A repository already set up for OpenSpec, as a user's is: opening a change then writes only its own folder.
    await createOpenSpecCli(createLayout(s.repo.root)).init();
    await s.repo.commit('chore: openspec init');
    const entry = example.mcp_servers[0]!;
    const toolset = example.tools.find((t) => t.type === 'mcp_toolset' && t.mcp_server_name === entry.name)!;
    configured = Object.keys(toolset.configs ?? {});
    // The example's URL, moved onto our test server: same scheme and path, our host and port.
    serverUrl = new URL(new URL(entry.url).pathname, s.url);
    assert.equal(serverUrl.protocol, 'https:');
    // The connector sends authorization_token as a bearer token; the test stands in its own.
    headers = { Authorization: `Bearer ${TOKENS.alice}` };
  });
  after(() => s.stop());

  const transports: Record<string, () => Promise<ToolClient>> = {
    'Streamable HTTP (2026-07-28, v2 client)': async () => {
      const client = new Client({ name: 'e2e', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await client.connect(new StreamableHTTPClientTransport(serverUrl, { fetch: s.fetch, requestInit: { headers } }));
      return client as ToolClient;
    },
    'HTTP+SSE (2024-11-05, v1 client)': async () => {
      const client = new V1Client({ name: 'e2e', version: '1' });
      const sseUrl = new URL('/sse', s.url);
      await client.connect(new SSEClientTransport(sseUrl, { fetch: s.fetch, requestInit: { headers } }));
      return client as ToolClient;
    },
  };

  for (const [name, connect] of Object.entries(transports)) {
    it(`lists Anthropic-safe names the example configures and opens a change (${name})`, async () => {
      const client = await connect();
      const { tools } = await client.listTools();
      const advertised = tools.map((t) => t.name);
      for (const tool of advertised) assert.match(tool, ANTHROPIC_TOOL_NAME);
      assert.deepEqual([...advertised].sort(), [...configured].sort(), 'the example enables exactly our tools');

      const slug = name.startsWith('Streamable') ? 'add-rate-limiting' : 'add-rate-limiting-sse';
      const before = await gitStatus(s.repo);
      // What a model sends for the example's prompt.
      const result = (await client.callTool({
        name: 'change_open',
        arguments: {
          title: 'Add rate limiting to the public API',
          slug,
          rationale: 'Clients hammer /v1/search; a per-token limit keeps the API responsive.',
        },
      })) as {
        isError?: boolean;
        structuredContent: { slug: string; created: boolean; paths: { proposal: string; tasks: string } };
      };
      assert.notEqual(result.isError, true);
      const sc = result.structuredContent;
      assert.equal(sc.slug, slug);
      assert.equal(sc.created, true);
      assert.ok(existsSync(join(s.repo.root, sc.paths.proposal)));
      assert.ok(existsSync(join(s.repo.root, sc.paths.tasks)));
      assert.match(await readFile(join(s.repo.root, sc.paths.proposal), 'utf8'), /rate limiting|hammer/i);
      const changed = (await gitStatus(s.repo)).split('\n').filter((line) => line && !before.includes(line));
      assert.ok(changed.length > 0);
      for (const line of changed) assert.match(line, new RegExp(`openspec/changes/${slug}/`), line);
      await client.close();
    });
  }
});
