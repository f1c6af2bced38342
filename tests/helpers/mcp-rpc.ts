/**
 * Raw JSON-RPC POSTs to `/mcp` at a chosen MCP revision, as a client of that revision sends them without a
 * session: 2026-07-28 with its `_meta` envelope and headers (`mcpRequest`), 2025-06-18 and 2025-11-25 with
 * `MCP-Protocol-Version`, 2025-03-26 with no version header (the revision that had none).
 */
import { mcpRequest } from './mcp-request.js';
import { TOKENS, type TestServer } from './server.js';

/** The revisions a Streamable HTTP client can speak (2024-11-05 had HTTP+SSE only). */
export const STREAMABLE_REVISIONS = ['2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'] as const;
export type StreamableRevision = (typeof STREAMABLE_REVISIONS)[number];

export interface RpcMessage {
  id?: unknown;
  result?: Record<string, unknown> & {
    isError?: boolean;
    content?: { text: string }[];
    _meta?: Record<string, unknown>;
  };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** One reply: the status and the JSON-RPC messages of its body (one JSON value, or the data of SSE events). */
export interface RpcExchange {
  status: number;
  contentType: string;
  messages: RpcMessage[];
}

/** Reads a `/mcp` reply, whatever its framing; a 202 has no body. */
export async function readRpc(res: Response): Promise<RpcExchange> {
  const contentType = res.headers.get('content-type')?.split(';')[0] ?? '';
  const text = await res.text();
  const messages =
    text === ''
      ? []
      : contentType === 'text/event-stream'
        ? text
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => JSON.parse(line.slice(6)) as RpcMessage)
        : [JSON.parse(text) as RpcMessage].flat();
  return { status: res.status, contentType, messages };
}

/** POSTs one request (`id` 1) at `revision` and reads the reply. */
export async function rpcAt(
  s: TestServer,
  revision: StreamableRevision,
  method: string,
  params: Record<string, unknown> = {},
): Promise<RpcExchange> {
  if (revision === '2026-07-28')
    return readRpc(await s.fetch(`${s.url}/mcp`, mcpRequest(TOKENS.alice, method, params)));
  return postAt(s, revision, { jsonrpc: '2.0', id: 1, method, params });
}

/** POSTs any body (JSON-encoded unless a string) with the headers of a 2025-era client at `revision`. */
export async function postAt(s: TestServer, revision: string, body: unknown): Promise<RpcExchange> {
  const res = await s.authed('/mcp', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...(revision !== '2025-03-26' && { 'MCP-Protocol-Version': revision }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return readRpc(res);
}
