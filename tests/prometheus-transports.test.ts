/**
 * Real Prometheus against the real server, over every transport: tool calls made by real MCP clients over
 * Streamable HTTP (the v2 SDK at 2026-07-28) and HTTP+SSE (the v1 SDK at 2024-11-05), and over the invoke route as
 * JSON, SSE and NDJSON, each show up in Prometheus's query API under their transport, tool, outcome and method,
 * with their counts; so do the domain's runs, the event bus's deliveries and a stream held open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { settled, startPrometheus, type TestPrometheus } from './helpers/prometheus.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

const headers = { Authorization: `Bearer ${TOKENS.alice}` };

describe('Prometheus sees tool calls over each transport', () => {
  let s: TestServer;
  let prometheus: TestPrometheus;
  let events: Response;
  const is = (expr: string, value: number) => settled(prometheus, expr, value);

  const invoke = async (accept: string, body: unknown): Promise<number> => {
    const res = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: accept },
      body: JSON.stringify(body),
    });
    await res.text();
    return res.status;
  };
  const open = (slug: string) => ({ name: 'change_open', arguments: { title: `Open ${slug}`, slug } });

  before(async () => {
    s = await startServer({ env: { METRICS_PORT: '0' } });

    const streamable = new Client(
      { name: 'metrics', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await streamable.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', s.url), { fetch: s.fetch, requestInit: { headers } }),
    );
    await streamable.listTools();
    const opened = await streamable.callTool(open('via-streamable'));
    assert.notEqual(opened.isError, true);
    const refused = await streamable.callTool({ name: 'change_open', arguments: { title: 'No slug' } });
    assert.equal(refused.isError, true, 'bad arguments are a tool error from 2025-11-25 on');
    await streamable.close();

    const legacy = new V1Client({ name: 'metrics', version: '1' });
    await legacy.connect(new SSEClientTransport(new URL('/sse', s.url), { fetch: s.fetch, requestInit: { headers } }));
    await legacy.listTools();
    assert.notEqual((await legacy.callTool(open('via-legacy'))).isError, true);
    await legacy.close();

    assert.deepEqual(
      [
        await invoke('application/json', { title: 'JSON', slug: 'via-json' }),
        await invoke('application/json', { title: 'No slug' }),
        await invoke('text/event-stream', { title: 'SSE', slug: 'via-sse' }),
        await invoke('application/x-ndjson', { title: 'NDJSON', slug: 'via-ndjson' }),
      ],
      [200, 400, 200, 200],
    );
    events = await s.authed('/v1/events', { headers: { Accept: 'text/event-stream' } });
    assert.equal(events.status, 200);

    prometheus = await startPrometheus({ target: new URL(s.server.metricsUrl!).host });
  });
  after(async () => {
    await events?.body?.cancel();
    await prometheus?.stop();
    await s?.stop();
  });

  it('counts each tool call under its transport, tool and outcome', async () => {
    const calls = 'task_mcp_tool_calls_total{tool="change.open"';
    await is(`${calls},transport="streamable_http",code="ok"}`, 1);
    await is(`${calls},transport="streamable_http",code="EBADINPUT"}`, 1);
    await is(`${calls},transport="legacy_sse",code="ok"}`, 1);
    await is(`${calls},transport="invoke_json",code="ok"}`, 1);
    await is(`${calls},transport="invoke_json",code="EBADINPUT"}`, 1);
    await is(`${calls},transport="invoke_sse",code="ok"}`, 1);
    await is(`${calls},transport="invoke_ndjson",code="ok"}`, 1);
    await is('count(task_mcp_tool_calls_total)', 7);
    const caller = await prometheus.query('task_mcp_tool_calls_total{caller!=""}');
    assert.deepEqual(caller, [], 'no caller label unless METRICS_CALLER_LABELS=1');
  });

  it('measures each MCP operation by method, tool, error type and transport', async () => {
    const ops = 'mcp_server_operation_duration_seconds_count';
    const call = `${ops}{mcp_method_name="tools/call",gen_ai_tool_name="change.open"`;
    await is(`${call},task_mcp_transport="streamable_http",error_type=""}`, 1);
    await is(`${call},task_mcp_transport="streamable_http",error_type="tool_error"}`, 1);
    await is(`${call},task_mcp_transport="legacy_sse",error_type=""}`, 1);
    await is(`${call},task_mcp_transport="invoke_json",error_type=""}`, 1);
    await is(`${call},task_mcp_transport="invoke_sse",error_type=""}`, 1);
    await is(`${call},task_mcp_transport="invoke_ndjson",error_type=""}`, 1);
    await is(`${ops}{mcp_method_name="tools/list",task_mcp_transport="streamable_http"}`, 1);
    await is(`${ops}{mcp_method_name="tools/list",task_mcp_transport="legacy_sse"}`, 1);
    await is(`${ops}{mcp_method_name="initialize",task_mcp_transport="legacy_sse"}`, 1);
    await is(`${ops}{mcp_method_name="notifications/initialized",task_mcp_transport="legacy_sse"}`, 1);
    const invalid = await prometheus.query(`${call},task_mcp_transport="invoke_json",error_type!=""}`);
    assert.deepEqual(invalid, [], 'an invoke refused before it ran is counted, not measured');
  });

  it("sees the domain's work and the event bus's deliveries", async () => {
    await is('task_mcp_change_operation_duration_seconds_count{operation="change.open",outcome="ok"}', 5);
    await is('task_mcp_subprocess_duration_seconds_count{command="openspec",subcommand="init"}', 1);
    await is('task_mcp_event_delivery_lag_seconds_count{bus="memory"}', 5);
  });

  it('has the event stream held open, and no other', async () => {
    await is('task_mcp_open_streams{kind="events"}', 1);
    await is('sum(task_mcp_open_streams)', 1);
  });
});
