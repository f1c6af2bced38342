/**
 * MCP clients of the real server's Streamable HTTP endpoint: the official v2 SDK client, of either era, and raw
 * JSON-RPC POSTs as a 2025-era client without a session sends them.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { TOKENS, type TestServer } from './server.js';

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;

/**
 * An SDK client connected to `/mcp` with `token`: `modern` pins 2026-07-28; `legacy` is the SDK's default, an
 * `initialize` handshake at a 2025 revision.
 */
export async function connect(s: TestServer, era: 'modern' | 'legacy', token: string = TOKENS.alice): Promise<Client> {
  const client = new Client({ name: 'mcp-test', version: '1.0.0' }, era === 'modern' ? MODERN : {});
  const headers = { Authorization: `Bearer ${token}` };
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit: { headers } }),
  );
  return client;
}

/** One raw JSON-RPC POST, as a 2025-era client without a session would send it. */
export function post(s: TestServer, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return s.authed('/mcp', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body,
  });
}

/** `tools/list` as a raw JSON-RPC body. */
export const listRequest = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
