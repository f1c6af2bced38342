/**
 * One MCP 2026-07-28 request as raw HTTP, for tests that check a server without an SDK client (runners, the
 * container image): the headers the revision requires, and the JSON-RPC body with its `_meta`.
 */
export const MCP_PROTOCOL = '2026-07-28';

export function mcpRequest(
  token: string,
  method: string,
  params: Record<string, unknown> = {},
): { method: 'POST'; headers: Record<string, string>; body: string } {
  const meta = {
    'io.modelcontextprotocol/protocolVersion': MCP_PROTOCOL,
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  return {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': MCP_PROTOCOL,
      'Mcp-Method': method,
      // SEP-2243: `Mcp-Name` repeats the tool's name, or the resource's URI.
      ...(typeof params.name === 'string' && { 'Mcp-Name': params.name }),
      ...(typeof params.uri === 'string' && { 'Mcp-Name': params.uri }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta } }),
  };
}
